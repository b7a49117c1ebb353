-- Numbers users can trust (issue #11): canonical provider names, orphan usage that is no request,
-- the failure model (errors with their parent, kind and stage; realtime reply failures that exist only
-- as ERROR logs), turns that failed before a span existed, the room name from the job span, and usage
-- records that keep the framework's own totals and the attribution of posted reports.

-- One provider name per provider, everywhere (spans, metric attributes, posted reports): lower case,
-- an API host's "api." and ".com/.ai/.io" dropped, the OpenTelemetry GenAI registry names of Google,
-- Azure and AWS folded to one each. Documented in docs/panels.md.
CREATE OR REPLACE FUNCTION lkd_provider {{on_cluster}} AS (p) -> multiIf(
    lower(p) IN ('gcp.gen_ai', 'gcp.gemini', 'gcp.vertex_ai', 'gemini', 'google', 'vertex_ai', 'google_genai'), 'google',
    lower(p) IN ('azure.ai.openai', 'azure.ai.inference', 'azure', 'azure_openai') OR endsWith(lower(p), '.openai.azure.com'),
    'azure',
    lower(p) IN ('aws.bedrock', 'bedrock'), 'aws.bedrock',
    replaceRegexpAll(lower(p), '^api\\.|\\.(com|ai|io)$', '')
);

-- provider requests: canonical providers; IsRequest = 0 for usage that is not a request of its own
ALTER TABLE lk_requests {{on_cluster}} ADD COLUMN IF NOT EXISTS IsRequest UInt8 DEFAULT 1;
DROP VIEW IF EXISTS lk_requests_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_requests_mv {{on_cluster}} TO lk_requests AS
WITH
    SpanAttributes AS a,
    if(a['lk.llm_metrics'] != '', a['lk.llm_metrics'], a['lk.realtime_model_metrics']) AS usage_json,
    a['lk.tts_metrics'] AS tts_json,
    JSONExtractRaw(usage_json, 'input_token_details') AS in_json,
    JSONExtractRaw(in_json, 'cached_tokens_details') AS cached_json,
    JSONExtractRaw(usage_json, 'output_token_details') AS out_json,
    multiIf(
        mapContains(a, 'gen_ai.usage.input_tokens'), toUInt64OrZero(a['gen_ai.usage.input_tokens']),
        mapContains(a, 'llm.token_count.prompt'), toUInt64OrZero(a['llm.token_count.prompt']),
        mapContains(a, 'gen_ai.usage.prompt_tokens'), toUInt64OrZero(a['gen_ai.usage.prompt_tokens']),
        JSONExtractUInt(usage_json, 'prompt_tokens') + JSONExtractUInt(usage_json, 'input_tokens')
    ) AS input_tokens,
    multiIf(
        mapContains(a, 'gen_ai.usage.output_tokens'), toUInt64OrZero(a['gen_ai.usage.output_tokens']),
        mapContains(a, 'llm.token_count.completion'), toUInt64OrZero(a['llm.token_count.completion']),
        mapContains(a, 'gen_ai.usage.completion_tokens'), toUInt64OrZero(a['gen_ai.usage.completion_tokens']),
        JSONExtractUInt(usage_json, 'completion_tokens') + JSONExtractUInt(usage_json, 'output_tokens')
    ) AS output_tokens,
    multiIf(
        mapContains(a, 'gen_ai.usage.cache_read.input_tokens'), toUInt64OrZero(a['gen_ai.usage.cache_read.input_tokens']),
        mapContains(a, 'gen_ai.usage.input_cached_tokens'), toUInt64OrZero(a['gen_ai.usage.input_cached_tokens']),
        mapContains(a, 'llm.token_count.prompt_details.cache_read'),
        toUInt64OrZero(a['llm.token_count.prompt_details.cache_read']),
        JSONExtractUInt(usage_json, 'prompt_cached_tokens') + JSONExtractUInt(in_json, 'cached_tokens')
    ) AS cache_read,
    -- a modality split exists only for realtime models; a pipeline LLM's tokens are all text
    mapContains(a, 'gen_ai.usage.audio.input_tokens') OR mapContains(a, 'gen_ai.usage.text.input_tokens')
        OR mapContains(a, 'gen_ai.usage.input_audio_tokens') OR mapContains(a, 'gen_ai.usage.input_text_tokens')
        OR mapContains(a, 'gen_ai.usage.audio.output_tokens') OR mapContains(a, 'gen_ai.usage.text.output_tokens')
        OR JSONHas(usage_json, 'input_token_details') AS has_split,
    multiIf(
        mapContains(a, 'gen_ai.usage.audio.input_tokens'), toUInt64OrZero(a['gen_ai.usage.audio.input_tokens']),
        mapContains(a, 'gen_ai.usage.input_audio_tokens'), toUInt64OrZero(a['gen_ai.usage.input_audio_tokens']),
        JSONExtractUInt(in_json, 'audio_tokens')
    ) AS audio_in,
    multiIf(
        mapContains(a, 'gen_ai.usage.audio.output_tokens'), toUInt64OrZero(a['gen_ai.usage.audio.output_tokens']),
        mapContains(a, 'gen_ai.usage.output_audio_tokens'), toUInt64OrZero(a['gen_ai.usage.output_audio_tokens']),
        JSONExtractUInt(out_json, 'audio_tokens')
    ) AS audio_out,
    multiIf(
        mapContains(a, 'gen_ai.usage.audio.cache_read.input_tokens'),
        toUInt64OrZero(a['gen_ai.usage.audio.cache_read.input_tokens']),
        JSONExtractUInt(cached_json, 'audio_tokens') + JSONExtractUInt(cached_json, 'audio')
    ) AS cached_audio,
    multiIf(
        mapContains(a, 'gen_ai.usage.text.input_tokens'), toUInt64OrZero(a['gen_ai.usage.text.input_tokens']),
        mapContains(a, 'gen_ai.usage.input_text_tokens'), toUInt64OrZero(a['gen_ai.usage.input_text_tokens']),
        has_split, JSONExtractUInt(in_json, 'text_tokens'),
        input_tokens
    ) AS text_in,
    multiIf(
        mapContains(a, 'gen_ai.usage.text.output_tokens'), toUInt64OrZero(a['gen_ai.usage.text.output_tokens']),
        mapContains(a, 'gen_ai.usage.output_text_tokens'), toUInt64OrZero(a['gen_ai.usage.output_text_tokens']),
        has_split, JSONExtractUInt(out_json, 'text_tokens'),
        output_tokens
    ) AS text_out,
    multiIf(
        mapContains(a, 'gen_ai.usage.text.cache_read.input_tokens'),
        toUInt64OrZero(a['gen_ai.usage.text.cache_read.input_tokens']),
        has_split, JSONExtractUInt(cached_json, 'text_tokens') + JSONExtractUInt(cached_json, 'text'),
        cache_read
    ) AS cached_text
SELECT
    Timestamp,
    TraceId,
    SpanId,
    coalesce(nullIf(a['gen_ai.conversation.id'], ''), nullIf(a['room_id'], ''), TraceId) AS CallId,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    SpanName,
    multiIf(
        SpanName IN ('realtime_inference', 'realtime_metrics') OR a['gen_ai.output.type'] = 'speech', 'realtime',
        SpanName = 'tts_request', 'tts',
        SpanName = 'user_turn', 'stt',
        'llm'
    ) AS Stage,
    lkd_provider(multiIf(
        a['gen_ai.provider.name'] != '', a['gen_ai.provider.name'],
        a['gen_ai.system'] != '', a['gen_ai.system'],
        a['llm.provider'] != '', a['llm.provider'],
        JSONExtractString(usage_json, 'metadata', 'model_provider') != '',
        JSONExtractString(usage_json, 'metadata', 'model_provider'),
        JSONExtractString(tts_json, 'metadata', 'model_provider')
    )) AS Provider,
    multiIf(
        a['gen_ai.request.model'] != '', a['gen_ai.request.model'],
        a['gen_ai.response.model'] != '', a['gen_ai.response.model'],
        a['llm.model_name'] != '', a['llm.model_name'],
        JSONExtractString(usage_json, 'metadata', 'model_name') != '',
        JSONExtractString(usage_json, 'metadata', 'model_name'),
        JSONExtractString(tts_json, 'metadata', 'model_name')
    ) AS Model,
    Duration AS DurationNs,
    multiIf(
        mapContains(a, 'gen_ai.response.time_to_first_chunk'), toFloat64OrNull(a['gen_ai.response.time_to_first_chunk']),
        JSONHas(usage_json, 'ttft'), JSONExtract(usage_json, 'ttft', 'Nullable(Float64)'),
        JSONHas(tts_json, 'ttfb'), JSONExtract(tts_json, 'ttfb', 'Nullable(Float64)'),
        NULL
    ) AS TtftS,
    input_tokens AS InputTokens,
    output_tokens AS OutputTokens,
    cache_read AS CacheReadTokens,
    multiIf(
        mapContains(a, 'gen_ai.usage.cache_write.input_tokens'), toUInt64OrZero(a['gen_ai.usage.cache_write.input_tokens']),
        mapContains(a, 'llm.token_count.prompt_details.cache_write'),
        toUInt64OrZero(a['llm.token_count.prompt_details.cache_write']),
        JSONExtractUInt(usage_json, 'cache_creation_tokens')
    ) AS CacheWriteTokens,
    multiIf(
        mapContains(a, 'gen_ai.usage.reasoning.output_tokens'), toUInt64OrZero(a['gen_ai.usage.reasoning.output_tokens']),
        mapContains(a, 'gen_ai.usage.reasoning_tokens'), toUInt64OrZero(a['gen_ai.usage.reasoning_tokens']),
        mapContains(a, 'llm.token_count.completion_details.reasoning'),
        toUInt64OrZero(a['llm.token_count.completion_details.reasoning']),
        JSONExtractUInt(usage_json, 'reasoning_tokens')
    ) AS ReasoningTokens,
    audio_in AS InputAudioTokens,
    text_in AS InputTextTokens,
    cached_audio AS CachedAudioTokens,
    cached_text AS CachedTextTokens,
    audio_out AS OutputAudioTokens,
    text_out AS OutputTextTokens,
    if(JSONHas(tts_json, 'characters_count'), JSONExtractUInt(tts_json, 'characters_count'), 0) AS TtsCharacters,
    JSONExtractFloat(tts_json, 'audio_duration') AS TtsAudioS,
    StatusCode = 'Error' AS IsError,
    if(StatusCode = 'Error', a['error.type'], '') AS ErrorType,
    -- usage that arrived after its reply ended (an orphan realtime_metrics span) counts as tokens, not
    -- as another request; a fallback adapter's background health probe is no user request
    SpanName != 'realtime_metrics' AND a['lk.fallback.recovery'] != 'true' AS IsRequest
FROM otel_traces
WHERE SpanName IN ('llm_request', 'realtime_inference', 'realtime_metrics', 'tts_request')
    OR (SpanName = 'user_turn' AND a['gen_ai.request.model'] != '')
    OR (
        SpanName NOT IN ('llm_request_run', 'tts_request_run', 'agent_turn', 'llm_fallback_adapter', 'tts_fallback_adapter')
        AND (a['gen_ai.operation.name'] IN ('chat', 'text_completion', 'generate_content')
            OR a['openinference.span.kind'] = 'LLM')
        AND (mapContains(a, 'gen_ai.usage.input_tokens') OR mapContains(a, 'llm.token_count.prompt'))
    );;

DROP VIEW IF EXISTS lk_request_hours_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_request_hours_mv {{on_cluster}} TO lk_request_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, Stage, ServiceName, Language, Provider, Model,
    countIf(IsRequest = 1) AS Requests,
    countIf(IsError = 1) AS Failed,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(CacheReadTokens) AS CacheReadTokens,
    sum(CacheWriteTokens) AS CacheWriteTokens,
    sum(ReasoningTokens) AS ReasoningTokens,
    sum(InputAudioTokens) AS InputAudioTokens,
    sum(InputTextTokens) AS InputTextTokens,
    sum(OutputAudioTokens) AS OutputAudioTokens,
    sum(OutputTextTokens) AS OutputTextTokens
FROM lk_requests
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model;
DROP VIEW IF EXISTS lk_request_latency_hours_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_request_latency_hours_mv {{on_cluster}} TO lk_request_latency_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, Stage, ServiceName, Language, Provider, Model,
    count() AS Requests,
    sum(DurationNs) AS DurationSum,
    quantileDDState(0.01, 0.95)(DurationNs) AS Duration,
    count(TtftS) AS TtftN,
    sumOrDefault(ifNull(TtftS, 0)) AS TtftSum,
    quantileDDState(0.01, 0.95)(TtftS) AS Ttft
FROM lk_requests
WHERE IsRequest = 1
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model;
DROP VIEW IF EXISTS lk_call_usage_requests_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_requests_mv {{on_cluster}} TO lk_call_usage AS
SELECT
    TraceId,
    max(toNullable(Timestamp)) AS LastSeen,
    groupUniqArray(concat(Stage, '|', Provider, '|', Model)) AS Models,
    countIf(IsRequest = 1 AND Stage IN ('llm', 'realtime')) AS Requests,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(InputAudioTokens) AS InputAudioTokens,
    sum(InputTextTokens) AS InputTextTokens,
    sum(CachedAudioTokens) AS CachedAudioTokens,
    sum(CachedTextTokens) AS CachedTextTokens,
    sum(OutputAudioTokens) AS OutputAudioTokens,
    sum(OutputTextTokens) AS OutputTextTokens,
    sum(CacheWriteTokens) AS CacheWriteTokens,
    sum(ReasoningTokens) AS ReasoningTokens,
    sum(TtsCharacters) AS TtsCharacters,
    sum(TtsAudioS) AS TtsAudioS
FROM lk_requests
GROUP BY TraceId;

-- Errors: every ERROR span with its parent (a failure is the deepest failing span; its failing
-- ancestors are its path), what kind of record it is, the pipeline stage and the canonical provider.
-- Kind: span | attempt (a retry attempt, *_request_run) | tool (a tool that returned an error: status
-- UNSET) | log (a realtime reply that failed before any span existed: only an ERROR log) | log_detail
-- (the ERROR log explaining a failed span).
ALTER TABLE lk_errors {{on_cluster}}
    ADD COLUMN IF NOT EXISTS ParentSpanId String CODEC(ZSTD(1)),
    ADD COLUMN IF NOT EXISTS Kind LowCardinality(String),
    ADD COLUMN IF NOT EXISTS Stage LowCardinality(String),
    ADD COLUMN IF NOT EXISTS Provider LowCardinality(String);
DROP VIEW IF EXISTS lk_errors_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_errors_mv {{on_cluster}} TO lk_errors AS
WITH indexOf(Events.Name, 'exception') AS exc
SELECT
    Timestamp,
    TraceId,
    SpanId,
    ParentSpanId,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    SpanName,
    SpanAttributes['gen_ai.request.model'] AS Model,
    multiIf(
        SpanAttributes['error.type'] != '', SpanAttributes['error.type'],
        exc > 0, Events.Attributes[exc]['exception.type'],
        SpanAttributes['exception.type']
    ) AS ErrorType,
    multiIf(
        exc > 0 AND Events.Attributes[exc]['exception.message'] != '', Events.Attributes[exc]['exception.message'],
        StatusMessage != '', StatusMessage,
        SpanAttributes['exception.message'] != '', SpanAttributes['exception.message'],
        SpanAttributes['lk.pii.function_tool.output'] != '', SpanAttributes['lk.pii.function_tool.output'],
        SpanAttributes['lk.function_tool.output']
    ) AS Message,
    Duration AS DurationNs,
    if(SpanAttributes['http.request.method'] != '', SpanAttributes['http.request.method'], SpanAttributes['http.method'])
        AS HttpMethod,
    if(SpanAttributes['http.response.status_code'] != '', SpanAttributes['http.response.status_code'],
        SpanAttributes['http.status_code']) AS HttpStatus,
    multiIf(
        StatusCode != 'Error', 'tool',
        endsWith(SpanName, '_request_run'), 'attempt',
        'span'
    ) AS Kind,
    multiIf(
        SpanName IN ('realtime_inference', 'realtime_metrics') OR startsWith(ErrorType, 'Realtime'), 'realtime',
        startsWith(SpanName, 'llm_'), 'llm',
        startsWith(SpanName, 'tts_'), 'tts',
        SpanName = 'user_turn', 'stt',
        SpanName = 'function_tool', 'tool',
        SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn'), 'turn',
        SpanName IN ('agent_session', 'session_close', 'job_entrypoint'), 'session',
        'other'
    ) AS Stage,
    lkd_provider(SpanAttributes['gen_ai.provider.name']) AS Provider
FROM otel_traces
WHERE StatusCode = 'Error' OR SpanAttributes['lk.function_tool.is_error'] = 'true';

-- A realtime model's reply that fails before any span is opened exists only as an ERROR log of
-- livekit-agents ("failed to generate a reply: ..."); "... after tool execution" explains an agent_turn
-- that failed (log_detail, not a failure of its own).
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_error_logs_mv {{on_cluster}} TO lk_errors AS
SELECT
    Timestamp,
    TraceId,
    SpanId,
    '' AS ParentSpanId,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    '' AS SpanName,
    '' AS Model,
    -- the error livekit-agents raises to the caller (and puts on a failed agent_turn): RealtimeError
    if(LogAttributes['exception.type'] != '', LogAttributes['exception.type'], 'RealtimeError') AS ErrorType,
    -- the provider's message, as on a failed agent_turn, so one cause is one error group
    replaceRegexpOne(Body, '^failed to generate a reply( after tool execution)?: ', '') AS Message,
    toUInt64(0) AS DurationNs,
    '' AS HttpMethod,
    '' AS HttpStatus,
    if(position(Body, 'after tool execution') > 0, 'log_detail', 'log') AS Kind,
    'realtime' AS Stage,
    '' AS Provider
FROM otel_logs
WHERE SeverityNumber >= 17 AND startsWith(ScopeName, 'livekit.agents') AND startsWith(Body, 'failed to generate a reply');

-- those replies are turns (livekit-agents counts them as user turns) and framework errors
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_errors_mv {{on_cluster}} TO lk_call_usage AS
SELECT TraceId, countIf(Kind = 'log') AS Turns, count() AS Errors
FROM lk_errors
WHERE Kind IN ('log', 'log_detail') AND TraceId != ''
GROUP BY TraceId;
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_turns_errors_mv {{on_cluster}} TO lk_call_turns AS
SELECT toDate(Timestamp) AS Day, TraceId, count() AS Turns, count() AS Failed
FROM lk_errors
WHERE Kind = 'log' AND TraceId != ''
GROUP BY Day, TraceId;
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_hours_errors_mv {{on_cluster}} TO lk_turn_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    count() AS Failed,
    quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(toUInt64(0), 0) AS Duration
FROM lk_errors
WHERE Kind = 'log'
GROUP BY Hour, ServiceName, Language;

-- per-call usage: the room name from the job span as well
DROP VIEW IF EXISTS lk_call_usage_spans_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_spans_mv {{on_cluster}} TO lk_call_usage AS
WITH
    SpanAttributes AS a,
    ResourceAttributes AS r,
    SpanName = 'agent_session' AS is_session
SELECT
    TraceId,
    maxIf(coalesce(nullIf(a['lk.job_id'], ''), nullIf(a['lk.room_sid'], ''), nullIf(a['gen_ai.conversation.id'], ''),
        TraceId), is_session) AS CallId,
    -- the worker's job span carries the room too (when the session's lk.pii.room_name is empty)
    maxIf(if(a['lk.pii.room_name'] != '', a['lk.pii.room_name'], a['lk.room_name']),
        SpanName IN ('agent_session', 'job_entrypoint')) AS RoomName,
    maxIf(ServiceName, is_session) AS ServiceName,
    maxIf(a['lk.agent_name'], is_session) AS AgentName,
    maxIf(multiIf(a['user.email'] != '', a['user.email'], r['user.email'] != '', r['user.email'],
        a['enduser.id'] != '', a['enduser.id'], r['enduser.id']), is_session) AS UserEmail,
    maxIf(multiIf(a['assistant.id'] != '', a['assistant.id'], r['assistant.id'] != '', r['assistant.id'],
        a['lk.agent_name'] != '', a['lk.agent_name'], a['lk.agent_label']), is_session) AS AssistantId,
    maxIf(a['lk.close_reason'], SpanName = 'session_close') AS CloseReason,
    minIf(toNullable(Timestamp), is_session) AS StartedAt,
    maxIf(toNullable(Timestamp + toIntervalNanosecond(Duration)), is_session) AS EndedAt,
    min(toNullable(Timestamp)) AS FirstSeen,
    max(toNullable(Timestamp)) AS LastSeen,
    countIf(SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn')) AS Turns,
    countIf(StatusCode = 'Error'
        AND SpanName IN ('llm_request_run', 'tts_request_run', 'realtime_inference', 'user_turn')) AS Errors
FROM otel_traces
WHERE SpanName IN ('agent_session', 'job_entrypoint', 'session_close', 'agent_turn', 'assistant_turn',
        'realtime_assistant_turn')
    OR StatusCode = 'Error'
GROUP BY TraceId;

-- Usage derived from telemetry, one record per call (appears once its agent_session span is stored).
-- Spans give the per-request detail; the framework's own counters (lk.agents.usage.*, by the call's
-- job/room id) win wherever they report more, since they are what livekit-agents itself counts
-- (session.usage): a realtime reply's usage can be on no span. Counters report cached input only as a
-- total: what they add beyond the spans is split between audio and text like the spans' cache reads.
-- STT seconds exist only as counters.
CREATE OR REPLACE VIEW lk_usage_derived {{on_cluster}} AS
WITH
    toUInt64(if(m.in_audio + m.in_text > 0, m.in_text, m.in_total)) AS counter_in_text,
    toUInt64(if(m.out_audio + m.out_text > 0, m.out_text, m.out_total)) AS counter_out_text,
    u.cached_audio + u.cached_text AS span_cached,
    toUInt64(greatest(0, toInt64(m.cached) - toInt64(span_cached))) AS cached_extra,
    if(span_cached > 0, u.cached_audio / span_cached,
        if(u.in_audio + u.in_text > 0, u.in_audio / (u.in_audio + u.in_text), 0)) AS audio_share,
    toUInt64(round(cached_extra * audio_share)) AS cached_extra_audio
SELECT
    u.call_id AS call_id, u.trace_id AS trace_id, u.room_name AS room_name, u.service AS service,
    u.agent_name AS agent_name, u.user_email AS user_email, u.assistant_id AS assistant_id,
    u.started_at AS started_at, u.ended_at AS ended_at,
    (toUnixTimestamp64Nano(u.ended_at) - toUnixTimestamp64Nano(u.started_at)) / 1e9 AS call_duration_s, u.models AS models,
    toUInt64(greatest(u.in_audio, toUInt64(m.in_audio))) AS llm_input_audio_tokens,
    toUInt64(greatest(u.in_text, counter_in_text)) AS llm_input_text_tokens,
    toUInt64(u.cached_audio + cached_extra_audio) AS llm_input_cached_audio_tokens,
    toUInt64(u.cached_text + cached_extra - cached_extra_audio) AS llm_input_cached_text_tokens,
    toUInt64(greatest(u.out_audio, toUInt64(m.out_audio))) AS llm_output_audio_tokens,
    toUInt64(greatest(u.out_text, counter_out_text)) AS llm_output_text_tokens,
    toUInt64(llm_input_audio_tokens + llm_input_text_tokens + llm_output_audio_tokens + llm_output_text_tokens)
        AS total_llm_tokens,
    toUInt64(u.cache_write) AS llm_cache_write_tokens, toUInt64(u.reasoning) AS llm_reasoning_tokens,
    toUInt64(greatest(u.tts_chars, toUInt64(m.tts_chars))) AS tts_characters,
    toFloat64(greatest(u.tts_s, m.tts_s)) AS tts_audio_duration,
    toFloat64(m.stt_s) AS stt_audio_duration,
    toUInt64(u.turns) AS turns, toUInt64(u.errors) AS errors, u.close_reason AS close_reason, 'telemetry' AS source
FROM (
    SELECT
        TraceId AS trace_id, max(CallId) AS call_id, max(RoomName) AS room_name, max(ServiceName) AS service,
        max(AgentName) AS agent_name, max(UserEmail) AS user_email, max(AssistantId) AS assistant_id,
        max(CloseReason) AS close_reason, coalesce(min(StartedAt), min(FirstSeen)) AS started_at,
        coalesce(max(EndedAt), max(LastSeen)) AS ended_at, groupUniqArrayArray(Models) AS models,
        sum(InputAudioTokens) AS in_audio, sum(InputTextTokens) AS in_text,
        sum(CachedAudioTokens) AS cached_audio, sum(CachedTextTokens) AS cached_text,
        sum(OutputAudioTokens) AS out_audio, sum(OutputTextTokens) AS out_text,
        sum(CacheWriteTokens) AS cache_write, sum(ReasoningTokens) AS reasoning,
        sum(TtsCharacters) AS tts_chars, sum(TtsAudioS) AS tts_s, sum(Turns) AS turns, sum(Errors) AS errors
    FROM lk_call_usage
    GROUP BY TraceId
    HAVING call_id != ''
) AS u
LEFT JOIN (
    SELECT
        CallKey AS call_key,
        sumIf(v, MetricName = 'lk.agents.usage.llm_input_tokens') AS in_total,
        sumIf(v, MetricName = 'lk.agents.usage.llm_input_audio_tokens') AS in_audio,
        sumIf(v, MetricName = 'lk.agents.usage.llm_input_text_tokens') AS in_text,
        sumIf(v, MetricName = 'lk.agents.usage.llm_input_cached_tokens') AS cached,
        sumIf(v, MetricName = 'lk.agents.usage.llm_output_tokens') AS out_total,
        sumIf(v, MetricName = 'lk.agents.usage.llm_output_audio_tokens') AS out_audio,
        sumIf(v, MetricName = 'lk.agents.usage.llm_output_text_tokens') AS out_text,
        sumIf(v, MetricName = 'lk.agents.usage.tts_characters') AS tts_chars,
        sumIf(v, MetricName = 'lk.agents.usage.tts_audio_duration') AS tts_s,
        sumIf(v, MetricName = 'lk.agents.usage.stt_audio_duration') AS stt_s
    FROM (
        SELECT CallKey, MetricName, if(Cumulative = 1, max(MaxValue), sum(SumValue)) AS v
        FROM lk_call_usage_metrics
        GROUP BY CallKey, MetricName, Cumulative, SeriesKey
    )
    GROUP BY CallKey
) AS m ON m.call_key = u.call_id;

-- One usage record per call: the record the worker posted (POST /v1/usage, or the session report a
-- LiveKit-compatible upload carries) when there is one, else the derived one. A posted record keeps the
-- derived record's attribution where it has none of its own (trace, service, user, assistant; the
-- report's agent_name is the assistant when no assistant.id was stamped), and provider names are
-- made canonical, so posted and derived records read the same.
CREATE OR REPLACE VIEW lk_usage_records {{on_cluster}} AS
SELECT
    p.CallId AS call_id,
    if(p.TraceId != '', p.TraceId, d.trace_id) AS trace_id,
    if(p.RoomName != '', p.RoomName, d.room_name) AS room_name,
    if(p.ServiceName != '', p.ServiceName, d.service) AS service,
    if(p.AgentName != '', p.AgentName, d.agent_name) AS agent_name,
    if(p.UserEmail != '', p.UserEmail, d.user_email) AS user_email,
    multiIf(p.AssistantId != '', p.AssistantId, d.assistant_id != '', d.assistant_id, p.AgentName) AS assistant_id,
    p.StartedAt AS started_at, p.EndedAt AS ended_at,
    (toUnixTimestamp64Nano(p.EndedAt) - toUnixTimestamp64Nano(p.StartedAt)) / 1e9 AS call_duration_s,
    arrayMap(
        entry -> arrayStringConcat(
            [splitByChar('|', entry)[1], lkd_provider(splitByChar('|', entry)[2]), arrayStringConcat(arraySlice(splitByChar('|', entry), 3), '|')],
            '|'),
        p.Models) AS models,
    p.InputAudioTokens AS llm_input_audio_tokens, p.InputTextTokens AS llm_input_text_tokens,
    p.CachedAudioTokens AS llm_input_cached_audio_tokens, p.CachedTextTokens AS llm_input_cached_text_tokens,
    p.OutputAudioTokens AS llm_output_audio_tokens, p.OutputTextTokens AS llm_output_text_tokens,
    p.InputAudioTokens + p.InputTextTokens + p.OutputAudioTokens + p.OutputTextTokens AS total_llm_tokens,
    p.CacheWriteTokens AS llm_cache_write_tokens, p.ReasoningTokens AS llm_reasoning_tokens,
    p.TtsCharacters AS tts_characters, p.TtsAudioS AS tts_audio_duration, p.SttAudioS AS stt_audio_duration,
    p.Turns AS turns, p.Errors AS errors, p.CloseReason AS close_reason, 'posted' AS source
FROM lk_usage_posted AS p FINAL
LEFT JOIN (
    SELECT call_id, trace_id, room_name, service, agent_name, user_email, assistant_id FROM lk_usage_derived
    WHERE call_id IN (SELECT CallId FROM lk_usage_posted)
) AS d ON d.call_id = p.CallId
UNION ALL
SELECT * FROM lk_usage_derived WHERE call_id NOT IN (SELECT CallId FROM lk_usage_posted);
