-- Calls: one settled record per call (lk_call_records), what the admin API, the call list and the token
-- panels read. Computing a call's record means aggregating its spans, counters, posted report, turns
-- and errors; doing that for every call of a range on every read made each admin query and token
-- panel scan the whole history. Instead every write that can change a call touches it
-- (lk_call_touch, filled by materialized views, so an OpenTelemetry Collector's writes count too),
-- and the server settles the touched calls into lk_call_records (query/call_records.py).

DROP VIEW IF EXISTS lk_usage_records {{on_cluster}};
DROP VIEW IF EXISTS lk_usage_derived {{on_cluster}};
DROP VIEW IF EXISTS lk_call_spans {{on_cluster}};

-- What a call's spans say, for the calls (traces) given: attribution and the sums of its spans' usage.
CREATE VIEW IF NOT EXISTS lk_call_spans {{on_cluster}} AS
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
WHERE TraceId IN {traces:Array(String)}
GROUP BY TraceId
HAVING call_id != '';

-- Usage derived from telemetry, one record per call (trace) given (appears once its agent_session span
-- is stored).
-- Spans give the per-request detail; the framework's own counters (lk.agents.usage.*, by the call's
-- job/room id) win wherever they report more, since they are what livekit-agents itself counts
-- (session.usage): a realtime reply's usage can be on no span. Counters report cached input only as a
-- total: what they add beyond the spans is split between audio and text like the spans' cache reads.
-- STT seconds exist only as counters. span_* columns: what the spans alone carry (the token panels add
-- the difference).
CREATE VIEW IF NOT EXISTS lk_usage_derived {{on_cluster}} AS
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
    toUInt64(u.turns) AS turns, toUInt64(u.errors) AS errors, u.close_reason AS close_reason, 'telemetry' AS source,
    toUInt64(u.in_audio) AS span_input_audio_tokens, toUInt64(u.in_text) AS span_input_text_tokens,
    toUInt64(u.cached_audio + u.cached_text) AS span_cached_tokens,
    toUInt64(u.out_audio) AS span_output_audio_tokens, toUInt64(u.out_text) AS span_output_text_tokens
FROM lk_call_spans(traces = {traces:Array(String)}) AS u
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
        WHERE CallKey IN (SELECT CallId FROM lk_calls WHERE TraceId IN {traces:Array(String)})
        GROUP BY CallKey, MetricName, Cumulative, SeriesKey
    )
    GROUP BY CallKey
) AS m ON m.call_key = u.call_id;

-- One usage record per call of the traces or call ids given: the record the worker posted (POST /v1/usage, or the session report a
-- LiveKit-compatible upload carries) when there is one, else the derived one. A posted record keeps the
-- derived record's attribution where it has none of its own (trace, service, user, assistant; the
-- report's agent_name is the assistant when no assistant.id was stamped), and provider names are
-- made canonical, so posted and derived records read the same.
CREATE VIEW IF NOT EXISTS lk_usage_records {{on_cluster}} AS
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
    p.Turns AS turns, p.Errors AS errors, p.CloseReason AS close_reason, 'posted' AS source,
    toUInt64(d.in_audio) AS span_input_audio_tokens, toUInt64(d.in_text) AS span_input_text_tokens,
    toUInt64(d.cached_audio + d.cached_text) AS span_cached_tokens,
    toUInt64(d.out_audio) AS span_output_audio_tokens, toUInt64(d.out_text) AS span_output_text_tokens
FROM lk_usage_posted AS p FINAL
LEFT JOIN lk_call_spans(traces = {traces:Array(String)}) AS d ON d.call_id = p.CallId
WHERE p.CallId IN {calls:Array(String)}
    OR p.CallId IN (SELECT CallId FROM lk_calls WHERE TraceId IN {traces:Array(String)})
UNION ALL
SELECT * FROM lk_usage_derived(traces = {traces:Array(String)})
WHERE call_id NOT IN (SELECT CallId FROM lk_usage_posted);


-- Every write that can change a call's record: spans of its trace, ERROR logs of its trace (failed
-- realtime replies), usage counters of its job/room, a posted report.
-- retention: none (a queue: each row is read once within seconds; a TTL clears it)
CREATE TABLE IF NOT EXISTS lk_call_touch {{on_cluster}} (
    TouchedAt DateTime64(3),
    TraceId String,
    CallId String,
    -- two writes can touch one call in the same millisecond: a round tells touches apart by this
    TouchId UUID DEFAULT generateUUIDv4()
) ENGINE = {{engine}}
ORDER BY TouchedAt
TTL toDateTime(TouchedAt) + INTERVAL 1 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_touch_spans_mv {{on_cluster}} TO lk_call_touch AS
SELECT now64(3) AS TouchedAt, TraceId, '' AS CallId FROM otel_traces GROUP BY TraceId;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_touch_logs_mv {{on_cluster}} TO lk_call_touch AS
SELECT now64(3) AS TouchedAt, TraceId, '' AS CallId FROM otel_logs
WHERE TraceId != '' AND SeverityNumber >= 17
GROUP BY TraceId;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_touch_metrics_mv {{on_cluster}} TO lk_call_touch AS
SELECT now64(3) AS TouchedAt, '' AS TraceId, CallKey AS CallId FROM lk_call_usage_metrics GROUP BY CallKey;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_touch_posted_mv {{on_cluster}} TO lk_call_touch AS
SELECT now64(3) AS TouchedAt, TraceId, CallId FROM lk_usage_posted;

-- The settled record of each call: the usage record (lk_usage_records) and what the call list shows
-- beside it. A call settled again replaces its row (newest settled_at wins; read with FINAL).
-- retention: usage toDateTime(started_at)
CREATE TABLE IF NOT EXISTS lk_call_records {{on_cluster}} (
    call_id String,
    trace_id String,
    room_name String,
    service LowCardinality(String),
    language LowCardinality(String),
    agent_name LowCardinality(String),
    user_email String,
    assistant_id String,
    started_at DateTime64(9, 'UTC'),
    ended_at DateTime64(9, 'UTC'),
    call_duration_s Float64,
    models Array(String),
    llm_input_audio_tokens UInt64,
    llm_input_text_tokens UInt64,
    llm_input_cached_audio_tokens UInt64,
    llm_input_cached_text_tokens UInt64,
    llm_output_audio_tokens UInt64,
    llm_output_text_tokens UInt64,
    total_llm_tokens UInt64,
    llm_cache_write_tokens UInt64,
    llm_reasoning_tokens UInt64,
    tts_characters UInt64,
    tts_audio_duration Float64,
    stt_audio_duration Float64,
    turns UInt64,
    errors UInt64,
    close_reason LowCardinality(String),
    source LowCardinality(String),
    span_input_audio_tokens UInt64,
    span_input_text_tokens UInt64,
    span_cached_tokens UInt64,
    span_output_audio_tokens UInt64,
    span_output_text_tokens UInt64,
    failures UInt64,
    recovered_requests UInt64,
    tool_errors UInt64,
    responses UInt64,
    response_p50_s Nullable(Float64),
    response_max_s Nullable(Float64),
    flagged_latencies UInt64,
    interruptions UInt64,
    settled_at DateTime64(3),
    INDEX started started_at TYPE minmax GRANULARITY 1
) ENGINE = {{replacing_engine}}(settled_at)
ORDER BY call_id
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;

-- A latency (seconds) fit for a percentile: present, not negative, at most 30 s. Longer ones come from
-- known framework clock bugs (minutes-long transcription and end-of-turn delays): they are flagged,
-- counted and shown as such, never averaged in (docs/panels.md states the rule).
CREATE OR REPLACE FUNCTION lkd_latency_ok {{on_cluster}} AS (v) -> isNotNull(v) AND v >= 0 AND v <= 30;

-- calls stored before this migration are settled by the server's first round
INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId) SELECT now64(3) AS TouchedAt, TraceId, CallId FROM lk_calls;
INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId) SELECT now64(3) AS TouchedAt, TraceId, CallId FROM lk_usage_posted;
