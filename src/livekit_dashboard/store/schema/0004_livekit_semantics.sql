-- LiveKit semantics, derived in ClickHouse from otel_traces by materialized views, so the tables
-- fill the same way whether our ingest or an OpenTelemetry Collector wrote the raw spans.
-- Both attribute dialects are read: OTel GenAI (dotted and older underscore spellings of the
-- modality keys) and OpenInference (llm.token_count.*, llm.model_name), with the lk.*_metrics JSON
-- blobs as fallback. Attribute keys take precedence over the JSON; they are never added together.

-- One row per provider request: llm_request (pipeline LLM), realtime_inference (speech-to-speech),
-- tts_request (TTS), user_turn (STT), and any other GenAI inference span that carries usage
-- (a custom llm_node, an OpenInference LLM span). llm_node, agent_turn and *_run spans never count.
-- retention: traces toDateTime(Timestamp)
CREATE TABLE IF NOT EXISTS lk_requests {{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    CallId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    SpanName LowCardinality(String),
    Stage LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    DurationNs UInt64 CODEC(T64, ZSTD(1)),
    TtftS Nullable(Float64),
    InputTokens UInt64,
    OutputTokens UInt64,
    CacheReadTokens UInt64,
    CacheWriteTokens UInt64,
    ReasoningTokens UInt64,
    InputAudioTokens UInt64,
    InputTextTokens UInt64,
    CachedAudioTokens UInt64,
    CachedTextTokens UInt64,
    OutputAudioTokens UInt64,
    OutputTextTokens UInt64,
    TtsCharacters UInt64,
    TtsAudioS Float64,
    IsError UInt8,
    ErrorType LowCardinality(String)
) ENGINE = {{engine}}
PARTITION BY toDate(Timestamp)
ORDER BY (Stage, Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

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
    multiIf(
        a['gen_ai.provider.name'] != '', a['gen_ai.provider.name'],
        a['gen_ai.system'] != '', a['gen_ai.system'],
        a['llm.provider'] != '', a['llm.provider'],
        JSONExtractString(usage_json, 'metadata', 'model_provider') != '',
        JSONExtractString(usage_json, 'metadata', 'model_provider'),
        JSONExtractString(tts_json, 'metadata', 'model_provider')
    ) AS Provider,
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
    if(StatusCode = 'Error', a['error.type'], '') AS ErrorType
FROM otel_traces
WHERE SpanName IN ('llm_request', 'realtime_inference', 'realtime_metrics', 'tts_request')
    OR (SpanName = 'user_turn' AND a['gen_ai.request.model'] != '')
    OR (
        SpanName NOT IN ('llm_request_run', 'tts_request_run', 'agent_turn', 'llm_fallback_adapter', 'tts_fallback_adapter')
        AND (a['gen_ai.operation.name'] IN ('chat', 'text_completion', 'generate_content')
            OR a['openinference.span.kind'] = 'LLM')
        AND (mapContains(a, 'gen_ai.usage.input_tokens') OR mapContains(a, 'llm.token_count.prompt'))
    );

-- One row per agent turn (agent_turn; assistant_turn / realtime_assistant_turn before 1.4).
-- retention: traces toDateTime(Timestamp)
CREATE TABLE IF NOT EXISTS lk_turns {{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    DurationNs UInt64 CODEC(T64, ZSTD(1)),
    E2eLatencyS Nullable(Float64),
    TranscriptionDelayS Nullable(Float64),
    EndOfTurnDelayS Nullable(Float64),
    Interrupted UInt8,
    IsError UInt8
) ENGINE = {{engine}}
PARTITION BY toDate(Timestamp)
ORDER BY (Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turns_mv {{on_cluster}} TO lk_turns AS
SELECT
    Timestamp,
    TraceId,
    SpanId,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    Duration AS DurationNs,
    toFloat64OrNull(SpanAttributes['lk.e2e_latency']) AS E2eLatencyS,
    toFloat64OrNull(SpanAttributes['lk.transcription_delay']) AS TranscriptionDelayS,
    toFloat64OrNull(if(SpanAttributes['lk.end_of_turn_delay'] != '', SpanAttributes['lk.end_of_turn_delay'],
        SpanAttributes['lk.end_of_utterance_delay'])) AS EndOfTurnDelayS,
    SpanAttributes['lk.interrupted'] = 'true' AS Interrupted,
    StatusCode = 'Error' AS IsError
FROM otel_traces
WHERE SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn');

-- One row per call (conversation): the agent_session span, which ends last.
-- retention: traces toDateTime(Timestamp)
CREATE TABLE IF NOT EXISTS lk_calls {{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    CallId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    RoomName String CODEC(ZSTD(1)),
    AgentName LowCardinality(String),
    DurationNs UInt64 CODEC(T64, ZSTD(1)),
    IsError UInt8
) ENGINE = {{engine}}
PARTITION BY toDate(Timestamp)
ORDER BY (Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

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
    StatusCode = 'Error' AS IsError
FROM otel_traces
WHERE SpanName = 'agent_session';

-- One row per error record: spans with ERROR status, and tool errors (status UNSET, flagged).
-- retention: traces toDateTime(Timestamp)
CREATE TABLE IF NOT EXISTS lk_errors {{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    SpanName LowCardinality(String),
    Model LowCardinality(String),
    ErrorType LowCardinality(String),
    Message String CODEC(ZSTD(1)),
    DurationNs UInt64 CODEC(T64, ZSTD(1)),
    HttpMethod LowCardinality(String),
    HttpStatus LowCardinality(String)
) ENGINE = {{engine}}
PARTITION BY toDate(Timestamp)
ORDER BY (Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_errors_mv {{on_cluster}} TO lk_errors AS
WITH indexOf(Events.Name, 'exception') AS exc
SELECT
    Timestamp,
    TraceId,
    SpanId,
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
        SpanAttributes['lk.function_tool.output']
    ) AS Message,
    Duration AS DurationNs,
    if(SpanAttributes['http.request.method'] != '', SpanAttributes['http.request.method'], SpanAttributes['http.method'])
        AS HttpMethod,
    if(SpanAttributes['http.response.status_code'] != '', SpanAttributes['http.response.status_code'],
        SpanAttributes['http.status_code']) AS HttpStatus
FROM otel_traces
WHERE StatusCode = 'Error' OR SpanAttributes['lk.function_tool.is_error'] = 'true';
