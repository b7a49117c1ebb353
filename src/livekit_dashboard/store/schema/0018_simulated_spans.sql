-- Simulated calls in the span panels: every derived table and rollup gains `Simulated` (1 for the rows
-- of a job LiveKit's agent simulator dispatched: livekit-agents stamps `lk.simulation.enabled` on every
-- span and log of such a job), in the rollups' sorting keys, so a panel keeps production traffic,
-- simulations, or both (the query fragment service_language; `simulated=exclude|only|include`).
-- The views are recreated with the column (their bodies otherwise as the earlier migrations left
-- them); rows stored before this migration count as production (Simulated = 0). Views first dropped,
-- so no insert lands between a table's new column and its view's new definition; every statement is
-- safe to run again (a crash half-way re-runs the file).

DROP VIEW IF EXISTS lk_requests_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_turns_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_calls_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_errors_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_error_logs_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_span_minutes_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_turn_steps_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_request_hours_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_request_latency_hours_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_turn_hours_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_turn_hours_errors_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_call_turns_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_call_turns_errors_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_stage_hours_turns_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_stage_hours_steps_mv {{on_cluster}};

ALTER TABLE lk_requests {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8;
ALTER TABLE lk_turns {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8;
ALTER TABLE lk_calls {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8;
ALTER TABLE lk_errors {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8;
ALTER TABLE lk_turn_steps {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8;
ALTER TABLE lk_call_turns {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated SimpleAggregateFunction(max, UInt8);
-- a rollup's new key column goes last in its sorting key (rows of both kinds never merge)
ALTER TABLE lk_span_minutes {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8,
    MODIFY ORDER BY (Minute, ServiceName, Language, ServiceVersion, SdkVersion, Simulated);
ALTER TABLE lk_request_hours {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8,
    MODIFY ORDER BY (Stage, Hour, ServiceName, Language, Provider, Model, Simulated);
ALTER TABLE lk_request_latency_hours {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8,
    MODIFY ORDER BY (Stage, Hour, ServiceName, Language, Provider, Model, Simulated);
ALTER TABLE lk_turn_hours {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8,
    MODIFY ORDER BY (Hour, ServiceName, Language, Simulated);
ALTER TABLE lk_stage_hours {{on_cluster}} ADD COLUMN IF NOT EXISTS Simulated UInt8,
    MODIFY ORDER BY (Hour, ServiceName, Language, Stage, Simulated);

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
    SpanName != 'realtime_metrics' AND a['lk.fallback.recovery'] != 'true' AS IsRequest,
    SpanAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_traces
WHERE SpanName IN ('llm_request', 'realtime_inference', 'realtime_metrics', 'tts_request')
    OR (SpanName = 'user_turn' AND a['gen_ai.request.model'] != '')
    OR (
        SpanName NOT IN ('llm_request_run', 'tts_request_run', 'agent_turn', 'llm_fallback_adapter', 'tts_fallback_adapter')
        AND (a['gen_ai.operation.name'] IN ('chat', 'text_completion', 'generate_content')
            OR a['openinference.span.kind'] = 'LLM')
        AND (mapContains(a, 'gen_ai.usage.input_tokens') OR mapContains(a, 'llm.token_count.prompt'))
    );

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turns_mv {{on_cluster}} TO lk_turns AS
WITH SpanAttributes AS a
SELECT
    Timestamp,
    TraceId,
    SpanId,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    Duration AS DurationNs,
    toFloat64OrNull(a['lk.e2e_latency']) AS E2eLatencyS,
    toFloat64OrNull(a['lk.transcription_delay']) AS TranscriptionDelayS,
    toFloat64OrNull(if(a['lk.end_of_turn_delay'] != '', a['lk.end_of_turn_delay'], a['lk.end_of_utterance_delay']))
        AS EndOfTurnDelayS,
    lower(a['lk.interrupted']) = 'true' AS Interrupted,
    StatusCode = 'Error' AS IsError,
    if(a['gen_ai.agent.name'] != '', a['gen_ai.agent.name'], a['lk.agent_label']) AS AgentName,
    toFloat64OrNull(a['lk.on_user_turn_completed_delay']) AS OnUserTurnCompletedDelayS,
    toFloat64OrNull(a['lk.speech.queue_wait']) AS QueueWaitS,
    a['lk.interruption.source'] AS InterruptionSource,
    toFloat64OrNull(a['lk.playout.position']) AS PlayoutPositionS,
    left(multiIf(a['lk.pii.user_input'] != '', a['lk.pii.user_input'], a['lk.user_input']), 2000) AS UserText,
    left(multiIf(a['lk.pii.response.text'] != '', a['lk.pii.response.text'], a['lk.response.text']), 4000) AS AgentText,
    SpanAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_traces
WHERE SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn');

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_calls_mv {{on_cluster}} TO lk_calls AS
SELECT
    Timestamp,
    TraceId,
    SpanId,
    coalesce(nullIf(SpanAttributes['lk.job_id'], ''), nullIf(SpanAttributes['lk.room_sid'], ''),
        nullIf(SpanAttributes['gen_ai.conversation.id'], ''), TraceId) AS CallId,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    if(SpanAttributes['lk.pii.room_name'] != '', SpanAttributes['lk.pii.room_name'], SpanAttributes['lk.room_name'])
        AS RoomName,
    SpanAttributes['lk.agent_name'] AS AgentName,
    Duration AS DurationNs,
    StatusCode = 'Error' AS IsError,
    SpanAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_traces
WHERE SpanName = 'agent_session';

-- One row per error record: spans with ERROR status, and tool errors (status UNSET, flagged).;

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
    lkd_provider(SpanAttributes['gen_ai.provider.name']) AS Provider,
    SpanAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_traces
WHERE StatusCode = 'Error' OR SpanAttributes['lk.function_tool.is_error'] = 'true';

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
    '' AS Provider,
    LogAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_logs
WHERE SeverityNumber >= 17 AND startsWith(ScopeName, 'livekit.agents') AND startsWith(Body, 'failed to generate a reply');

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_span_minutes_mv {{on_cluster}} TO lk_span_minutes AS
SELECT
    toStartOfMinute(Timestamp) AS Minute,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    ResourceAttributes['service.version'] AS ServiceVersion,
    ResourceAttributes['telemetry.sdk.version'] AS SdkVersion,
    count() AS Spans,
    countIf(SpanName = 'agent_session') AS Calls,
    SpanAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_traces
GROUP BY Minute, ServiceName, Language, ServiceVersion, SdkVersion, Simulated;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_steps_mv {{on_cluster}} TO lk_turn_steps AS
WITH SpanAttributes AS a
SELECT
    Timestamp, TraceId, ParentSpanId AS TurnSpanId, SpanId, ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    if(SpanName = 'llm_node', 'llm_ttft', 'tts_ttfb') AS Stage,
    lkd_provider(a['gen_ai.provider.name']) AS Provider,
    a['gen_ai.request.model'] AS Model,
    toFloat64OrNull(if(SpanName = 'llm_node', a['lk.response.ttft'], a['lk.response.ttfb'])) AS ValueS,
    SpanAttributes['lk.simulation.enabled'] = 'true' AS Simulated
FROM otel_traces
WHERE SpanName IN ('llm_node', 'tts_node');

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
    sum(OutputTextTokens) AS OutputTextTokens,
    Simulated
FROM lk_requests
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model, Simulated;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_request_latency_hours_mv {{on_cluster}} TO lk_request_latency_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, Stage, ServiceName, Language, Provider, Model,
    count() AS Requests,
    sum(DurationNs) AS DurationSum,
    quantileDDState(0.01, 0.95)(DurationNs) AS Duration,
    count(TtftS) AS TtftN,
    sumOrDefault(ifNull(TtftS, 0)) AS TtftSum,
    quantileDDState(0.01, 0.95)(TtftS) AS Ttft,
    Simulated
FROM lk_requests
WHERE IsRequest = 1
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model, Simulated;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_hours_mv {{on_cluster}} TO lk_turn_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    countIf(IsError = 1) AS Failed,
    quantilesDDState(0.01, 0.5, 0.95, 0.99)(DurationNs) AS Duration,
    countIf(lkd_latency_ok(E2eLatencyS)) AS Responses,
    countIf(E2eLatencyS IS NOT NULL AND NOT lkd_latency_ok(E2eLatencyS)) AS Flagged,
    quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) AS Response,
    Simulated
FROM lk_turns
GROUP BY Hour, ServiceName, Language, Simulated;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_hours_errors_mv {{on_cluster}} TO lk_turn_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    count() AS Failed,
    quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(toUInt64(0), 0) AS Duration,
    Simulated
FROM lk_errors
WHERE Kind = 'log'
GROUP BY Hour, ServiceName, Language, Simulated;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_turns_mv {{on_cluster}} TO lk_call_turns AS
SELECT toDate(Timestamp) AS Day, TraceId, count() AS Turns, countIf(IsError = 1) AS Failed,
    max(Simulated) AS Simulated
FROM lk_turns
GROUP BY Day, TraceId;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_turns_errors_mv {{on_cluster}} TO lk_call_turns AS
SELECT toDate(Timestamp) AS Day, TraceId, count() AS Turns, count() AS Failed,
    max(Simulated) AS Simulated
FROM lk_errors
WHERE Kind = 'log' AND TraceId != ''
GROUP BY Day, TraceId;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_stage_hours_turns_mv {{on_cluster}} TO lk_stage_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language, tupleElement(s, 1) AS Stage,
    count() AS Values,
    countIf(NOT lkd_latency_ok(tupleElement(s, 2))) AS Flagged,
    sumIf(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS Total,
    quantilesDDStateIf(0.01, 0.95)(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS Sketch,
    Simulated
FROM lk_turns
ARRAY JOIN [
    ('end_of_turn', EndOfTurnDelayS), ('transcription', TranscriptionDelayS),
    ('on_user_turn_completed', OnUserTurnCompletedDelayS)
] AS s
WHERE tupleElement(s, 2) IS NOT NULL
GROUP BY Hour, ServiceName, Language, Stage, Simulated;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_stage_hours_steps_mv {{on_cluster}} TO lk_stage_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language, Stage,
    count() AS Values,
    countIf(NOT lkd_latency_ok(ValueS)) AS Flagged,
    sumIf(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS Total,
    quantilesDDStateIf(0.01, 0.95)(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS Sketch,
    Simulated
FROM lk_turn_steps
WHERE ValueS IS NOT NULL
GROUP BY Hour, ServiceName, Language, Stage, Simulated;
