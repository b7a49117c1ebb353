-- Per-call usage records. Derived in ClickHouse, keyed by trace (one trace per job): materialized
-- views add each export batch's share into an AggregatingMergeTree, so a call that arrives in many
-- batches, written by our ingest or by an OpenTelemetry Collector, sums to the same record.
-- Posted records (POST /v1/usage) live in their own table and replace the derived record of their call.

-- retention: traces toDateTime(ifNull(LastSeen, toDateTime64('2100-01-01 00:00:00', 9, 'UTC')))
CREATE TABLE IF NOT EXISTS lk_call_usage {{on_cluster}} (
    TraceId String,
    CallId SimpleAggregateFunction(max, String),
    RoomName SimpleAggregateFunction(max, String),
    ServiceName SimpleAggregateFunction(max, String),
    AgentName SimpleAggregateFunction(max, String),
    UserEmail SimpleAggregateFunction(max, String),
    AssistantId SimpleAggregateFunction(max, String),
    CloseReason SimpleAggregateFunction(max, String),
    StartedAt SimpleAggregateFunction(min, Nullable(DateTime64(9))),
    EndedAt SimpleAggregateFunction(max, Nullable(DateTime64(9))),
    FirstSeen SimpleAggregateFunction(min, Nullable(DateTime64(9))),
    LastSeen SimpleAggregateFunction(max, Nullable(DateTime64(9))),
    Models SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    Requests SimpleAggregateFunction(sum, UInt64),
    InputTokens SimpleAggregateFunction(sum, UInt64),
    OutputTokens SimpleAggregateFunction(sum, UInt64),
    InputAudioTokens SimpleAggregateFunction(sum, UInt64),
    InputTextTokens SimpleAggregateFunction(sum, UInt64),
    CachedAudioTokens SimpleAggregateFunction(sum, UInt64),
    CachedTextTokens SimpleAggregateFunction(sum, UInt64),
    OutputAudioTokens SimpleAggregateFunction(sum, UInt64),
    OutputTextTokens SimpleAggregateFunction(sum, UInt64),
    CacheWriteTokens SimpleAggregateFunction(sum, UInt64),
    ReasoningTokens SimpleAggregateFunction(sum, UInt64),
    TtsCharacters SimpleAggregateFunction(sum, UInt64),
    TtsAudioS SimpleAggregateFunction(sum, Float64),
    Turns SimpleAggregateFunction(sum, UInt64),
    Errors SimpleAggregateFunction(sum, UInt64)
) ENGINE = {{aggregating_engine}}
ORDER BY TraceId
SETTINGS index_granularity = 8192;

-- The call itself (ids, who, when: agent_session ends last, so its end is the call's end), its close
-- reason, turns, and failed provider attempts (recoverable ones included, as SessionReport.errors
-- counts them). One view, aggregating each insert block per trace: every view adds a fixed cost to
-- every insert, so spans share one. Tokens and TTS come from lk_requests below.
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_spans_mv {{on_cluster}} TO lk_call_usage AS
WITH
    SpanAttributes AS a,
    ResourceAttributes AS r,
    SpanName = 'agent_session' AS is_session
SELECT
    TraceId,
    maxIf(coalesce(nullIf(a['lk.job_id'], ''), nullIf(a['lk.room_sid'], ''), nullIf(a['gen_ai.conversation.id'], ''),
        TraceId), is_session) AS CallId,
    maxIf(if(a['lk.pii.room_name'] != '', a['lk.pii.room_name'], a['lk.room_name']), is_session) AS RoomName,
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
WHERE SpanName IN ('agent_session', 'session_close', 'agent_turn', 'assistant_turn', 'realtime_assistant_turn')
    OR StatusCode = 'Error'
GROUP BY TraceId;

-- provider requests: tokens, TTS characters and seconds, models per stage
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_requests_mv {{on_cluster}} TO lk_call_usage AS
SELECT
    TraceId,
    groupUniqArray(concat(Stage, '|', Provider, '|', Model)) AS Models,
    countIf(Stage IN ('llm', 'realtime')) AS Requests,
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

-- lk.agents.usage.* counters per call (their job_id / room_id point attributes). Cumulative series
-- keep their latest value (max), delta series their sum; series are told apart by attributes and
-- start time, so a reset (new start time) starts a new series. Never added to span totals: spans win.
-- retention: usage toDateTime(LastSeen)
CREATE TABLE IF NOT EXISTS lk_call_usage_metrics {{on_cluster}} (
    CallKey String,
    MetricName LowCardinality(String),
    Cumulative UInt8,
    SeriesKey UInt64,
    MaxValue SimpleAggregateFunction(max, Float64),
    SumValue SimpleAggregateFunction(sum, Float64),
    LastSeen SimpleAggregateFunction(max, DateTime64(9))
) ENGINE = {{aggregating_engine}}
ORDER BY (CallKey, MetricName, Cumulative, SeriesKey)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_metrics_mv {{on_cluster}} TO lk_call_usage_metrics AS
SELECT
    if(Attributes['job_id'] != '', Attributes['job_id'], Attributes['room_id']) AS CallKey,
    MetricName,
    AggregationTemporality = 2 AS Cumulative,
    cityHash64(ServiceName, toString(Attributes), toUnixTimestamp64Nano(StartTimeUnix)) AS SeriesKey,
    Value AS MaxValue,
    Value AS SumValue,
    TimeUnix AS LastSeen
FROM otel_metrics_sum
WHERE startsWith(MetricName, 'lk.agents.usage.') AND (Attributes['job_id'] != '' OR Attributes['room_id'] != '');

-- records posted by workers (SessionReport.to_dict() or plain usage JSON); the newest post wins
-- retention: usage toDateTime(StartedAt)
CREATE TABLE IF NOT EXISTS lk_usage_posted {{on_cluster}} (
    CallId String,
    PostedAt DateTime64(9),
    TraceId String,
    RoomName String,
    ServiceName String,
    AgentName String,
    UserEmail String,
    AssistantId String,
    CloseReason String,
    StartedAt DateTime64(9),
    EndedAt DateTime64(9),
    Models Array(String),
    InputAudioTokens UInt64,
    InputTextTokens UInt64,
    CachedAudioTokens UInt64,
    CachedTextTokens UInt64,
    OutputAudioTokens UInt64,
    OutputTextTokens UInt64,
    CacheWriteTokens UInt64,
    ReasoningTokens UInt64,
    TtsCharacters UInt64,
    TtsAudioS Float64,
    SttAudioS Float64,
    Turns UInt64,
    Errors UInt64
) ENGINE = {{replacing_engine}}(PostedAt)
ORDER BY CallId
SETTINGS index_granularity = 8192;

-- One usage record per call: a posted record when there is one, else the derived one (spans first,
-- lk.agents.usage.* counters only for what the spans lack; STT seconds only exist as counters).
-- A derived record appears once the call's agent_session span is stored.
CREATE VIEW IF NOT EXISTS lk_usage_records {{on_cluster}} AS
SELECT
    CallId AS call_id, TraceId AS trace_id, RoomName AS room_name, ServiceName AS service, AgentName AS agent_name,
    UserEmail AS user_email, AssistantId AS assistant_id, StartedAt AS started_at, EndedAt AS ended_at,
    (toUnixTimestamp64Nano(EndedAt) - toUnixTimestamp64Nano(StartedAt)) / 1e9 AS call_duration_s, Models AS models,
    InputAudioTokens AS llm_input_audio_tokens, InputTextTokens AS llm_input_text_tokens,
    CachedAudioTokens AS llm_input_cached_audio_tokens, CachedTextTokens AS llm_input_cached_text_tokens,
    OutputAudioTokens AS llm_output_audio_tokens, OutputTextTokens AS llm_output_text_tokens,
    InputAudioTokens + InputTextTokens + OutputAudioTokens + OutputTextTokens AS total_llm_tokens,
    CacheWriteTokens AS llm_cache_write_tokens, ReasoningTokens AS llm_reasoning_tokens,
    TtsCharacters AS tts_characters, TtsAudioS AS tts_audio_duration, SttAudioS AS stt_audio_duration,
    Turns AS turns, Errors AS errors, CloseReason AS close_reason, 'posted' AS source
FROM lk_usage_posted FINAL
UNION ALL
-- span totals win; the counters fill in only what no span reported
WITH u.in_tokens + u.out_tokens > 0 AS from_spans
SELECT
    u.call_id AS call_id, u.trace_id AS trace_id, u.room_name AS room_name, u.service AS service,
    u.agent_name AS agent_name, u.user_email AS user_email, u.assistant_id AS assistant_id,
    u.started_at AS started_at, u.ended_at AS ended_at,
    (toUnixTimestamp64Nano(u.ended_at) - toUnixTimestamp64Nano(u.started_at)) / 1e9 AS call_duration_s, u.models AS models,
    if(from_spans, u.in_audio, toUInt64(m.in_audio)) AS llm_input_audio_tokens,
    if(from_spans, u.in_text, toUInt64(if(m.in_audio + m.in_text > 0, m.in_text, m.in_total)))
        AS llm_input_text_tokens,
    if(from_spans, u.cached_audio, 0) AS llm_input_cached_audio_tokens,
    if(from_spans, u.cached_text, toUInt64(if(m.in_audio + m.in_text > 0, 0, m.cached))) AS llm_input_cached_text_tokens,
    if(from_spans, u.out_audio, toUInt64(m.out_audio)) AS llm_output_audio_tokens,
    if(from_spans, u.out_text, toUInt64(if(m.out_audio + m.out_text > 0, m.out_text, m.out_total)))
        AS llm_output_text_tokens,
    llm_input_audio_tokens + llm_input_text_tokens + llm_output_audio_tokens + llm_output_text_tokens
        AS total_llm_tokens,
    u.cache_write AS llm_cache_write_tokens, u.reasoning AS llm_reasoning_tokens,
    if(u.tts_chars > 0, u.tts_chars, toUInt64(m.tts_chars)) AS tts_characters,
    if(u.tts_s > 0, u.tts_s, m.tts_s) AS tts_audio_duration,
    m.stt_s AS stt_audio_duration,
    u.turns AS turns, u.errors AS errors, u.close_reason AS close_reason, 'telemetry' AS source
FROM (
    SELECT
        TraceId AS trace_id, max(CallId) AS call_id, max(RoomName) AS room_name, max(ServiceName) AS service,
        max(AgentName) AS agent_name, max(UserEmail) AS user_email, max(AssistantId) AS assistant_id,
        max(CloseReason) AS close_reason, coalesce(min(StartedAt), min(FirstSeen)) AS started_at,
        coalesce(max(EndedAt), max(LastSeen)) AS ended_at, groupUniqArrayArray(Models) AS models,
        sum(InputTokens) AS in_tokens, sum(OutputTokens) AS out_tokens,
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
) AS m ON m.call_key = u.call_id
WHERE u.call_id NOT IN (SELECT CallId FROM lk_usage_posted);
