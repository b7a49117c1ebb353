-- Voice latency where the caller feels it: each agent turn keeps its response latency and its stages
-- (end of turn, transcription, on_user_turn_completed, queue wait), who answered (the agent), whether the
-- caller cut it off (and how much of it they heard) and what was said (for search); its LLM's time to
-- first token and its TTS's time to first byte are rows of lk_turn_steps (they are on child spans). The
-- hourly turn rollup gains a sketch of response latencies.
--
-- lk_turns is rebuilt from otel_traces, so the views that read it are dropped first (else the rebuild
-- would add every turn to their rollups again) and recreated after; every step starts from empty, so a
-- crash half-way re-runs this file harmlessly.

DROP VIEW IF EXISTS lk_turn_hours_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_call_turns_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_turns_mv {{on_cluster}};

ALTER TABLE lk_turns {{on_cluster}}
    ADD COLUMN IF NOT EXISTS AgentName LowCardinality(String),
    ADD COLUMN IF NOT EXISTS OnUserTurnCompletedDelayS Nullable(Float64),
    ADD COLUMN IF NOT EXISTS QueueWaitS Nullable(Float64),
    ADD COLUMN IF NOT EXISTS InterruptionSource LowCardinality(String),
    ADD COLUMN IF NOT EXISTS PlayoutPositionS Nullable(Float64),
    ADD COLUMN IF NOT EXISTS UserText String CODEC(ZSTD(3)),
    ADD COLUMN IF NOT EXISTS AgentText String CODEC(ZSTD(3));

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
    left(multiIf(a['lk.pii.response.text'] != '', a['lk.pii.response.text'], a['lk.response.text']), 4000) AS AgentText
FROM otel_traces
WHERE SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn');

TRUNCATE TABLE IF EXISTS lk_turns {{on_cluster}};
INSERT INTO lk_turns (
    Timestamp, TraceId, SpanId, ServiceName, Language, DurationNs, E2eLatencyS, TranscriptionDelayS, EndOfTurnDelayS,
    Interrupted, IsError, AgentName, OnUserTurnCompletedDelayS, QueueWaitS, InterruptionSource, PlayoutPositionS,
    UserText, AgentText)
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
    left(multiIf(a['lk.pii.response.text'] != '', a['lk.pii.response.text'], a['lk.response.text']), 4000) AS AgentText
FROM otel_traces
WHERE SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn');

-- A turn's LLM time to first token (llm_node's lk.response.ttft) and TTS time to first byte (tts_node's
-- lk.response.ttfb): one row per node, keyed by its turn (the node's parent agent_turn).
-- retention: traces toDateTime(Timestamp)
CREATE TABLE IF NOT EXISTS lk_turn_steps {{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    TurnSpanId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    Stage LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    ValueS Nullable(Float64)
) ENGINE = {{engine}}
PARTITION BY toDate(Timestamp)
ORDER BY (Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_steps_mv {{on_cluster}} TO lk_turn_steps AS
WITH SpanAttributes AS a
SELECT
    Timestamp, TraceId, ParentSpanId AS TurnSpanId, SpanId, ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    if(SpanName = 'llm_node', 'llm_ttft', 'tts_ttfb') AS Stage,
    lkd_provider(a['gen_ai.provider.name']) AS Provider,
    a['gen_ai.request.model'] AS Model,
    toFloat64OrNull(if(SpanName = 'llm_node', a['lk.response.ttft'], a['lk.response.ttfb'])) AS ValueS
FROM otel_traces
WHERE SpanName IN ('llm_node', 'tts_node');

TRUNCATE TABLE IF EXISTS lk_turn_steps {{on_cluster}};
INSERT INTO lk_turn_steps (Timestamp, TraceId, TurnSpanId, SpanId, ServiceName, Language, Stage, Provider, Model, ValueS)
WITH SpanAttributes AS a
SELECT
    Timestamp, TraceId, ParentSpanId AS TurnSpanId, SpanId, ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    if(SpanName = 'llm_node', 'llm_ttft', 'tts_ttfb') AS Stage,
    lkd_provider(a['gen_ai.provider.name']) AS Provider,
    a['gen_ai.request.model'] AS Model,
    toFloat64OrNull(if(SpanName = 'llm_node', a['lk.response.ttft'], a['lk.response.ttfb'])) AS ValueS
FROM otel_traces
WHERE SpanName IN ('llm_node', 'tts_node');

-- the hourly turn rollup: response latencies (valid ones in a DDSketch, the others counted as flagged)
ALTER TABLE lk_turn_hours {{on_cluster}}
    ADD COLUMN IF NOT EXISTS Responses SimpleAggregateFunction(sum, UInt64),
    ADD COLUMN IF NOT EXISTS Flagged SimpleAggregateFunction(sum, UInt64),
    ADD COLUMN IF NOT EXISTS Response AggregateFunction(quantilesDD(0.01, 0.5, 0.95, 0.99), Float64);

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_hours_mv {{on_cluster}} TO lk_turn_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    countIf(IsError = 1) AS Failed,
    quantilesDDState(0.01, 0.5, 0.95, 0.99)(DurationNs) AS Duration,
    countIf(lkd_latency_ok(E2eLatencyS)) AS Responses,
    countIf(E2eLatencyS IS NOT NULL AND NOT lkd_latency_ok(E2eLatencyS)) AS Flagged,
    quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) AS Response
FROM lk_turns
GROUP BY Hour, ServiceName, Language;

TRUNCATE TABLE IF EXISTS lk_turn_hours {{on_cluster}};
INSERT INTO lk_turn_hours (Hour, ServiceName, Language, Turns, Failed, Duration, Responses, Flagged, Response)
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    countIf(IsError = 1) AS Failed,
    quantilesDDState(0.01, 0.5, 0.95, 0.99)(DurationNs) AS Duration,
    countIf(lkd_latency_ok(E2eLatencyS)) AS Responses,
    countIf(E2eLatencyS IS NOT NULL AND NOT lkd_latency_ok(E2eLatencyS)) AS Flagged,
    quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) AS Response
FROM lk_turns
GROUP BY Hour, ServiceName, Language;
-- realtime replies that failed before any span existed are turns too (lk_turn_hours_errors_mv)
INSERT INTO lk_turn_hours (Hour, ServiceName, Language, Turns, Failed, Duration)
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    count() AS Failed,
    quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(toUInt64(0), 0) AS Duration
FROM lk_errors
WHERE Kind = 'log'
GROUP BY Hour, ServiceName, Language;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_turns_mv {{on_cluster}} TO lk_call_turns AS
SELECT toDate(Timestamp) AS Day, TraceId, count() AS Turns, countIf(IsError = 1) AS Failed
FROM lk_turns
GROUP BY Day, TraceId;

-- Where the response time goes, per hour x service x language x stage: how many values, how many
-- flagged (lkd_latency_ok), the sum of the valid ones (exact averages) and a DDSketch of them (p95
-- estimates), for latency_stages_over_time over long ranges. Stages from the turns (end of turn,
-- transcription, on_user_turn_completed) and from their steps (every LLM step's time to first token,
-- every TTS step's time to first byte).
-- retention: traces Hour
CREATE TABLE IF NOT EXISTS lk_stage_hours {{on_cluster}} (
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    Stage LowCardinality(String),
    Values SimpleAggregateFunction(sum, UInt64),
    Flagged SimpleAggregateFunction(sum, UInt64),
    Total SimpleAggregateFunction(sum, Float64),
    Sketch AggregateFunction(quantilesDD(0.01, 0.95), Float64)
) ENGINE = {{aggregating_engine}}
PARTITION BY toYYYYMM(Hour)
ORDER BY (Hour, ServiceName, Language, Stage)
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_stage_hours_turns_mv {{on_cluster}} TO lk_stage_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language, tupleElement(s, 1) AS Stage,
    count() AS Values,
    countIf(NOT lkd_latency_ok(tupleElement(s, 2))) AS Flagged,
    sumIf(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS Total,
    quantilesDDStateIf(0.01, 0.95)(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS Sketch
FROM lk_turns
ARRAY JOIN [
    ('end_of_turn', EndOfTurnDelayS), ('transcription', TranscriptionDelayS),
    ('on_user_turn_completed', OnUserTurnCompletedDelayS)
] AS s
WHERE tupleElement(s, 2) IS NOT NULL
GROUP BY Hour, ServiceName, Language, Stage;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_stage_hours_steps_mv {{on_cluster}} TO lk_stage_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language, Stage,
    count() AS Values,
    countIf(NOT lkd_latency_ok(ValueS)) AS Flagged,
    sumIf(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS Total,
    quantilesDDStateIf(0.01, 0.95)(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS Sketch
FROM lk_turn_steps
WHERE ValueS IS NOT NULL
GROUP BY Hour, ServiceName, Language, Stage;

TRUNCATE TABLE IF EXISTS lk_stage_hours {{on_cluster}};
INSERT INTO lk_stage_hours (Hour, ServiceName, Language, Stage, Values, Flagged, Total, Sketch)
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language, tupleElement(s, 1) AS Stage,
    count() AS Values,
    countIf(NOT lkd_latency_ok(tupleElement(s, 2))) AS Flagged,
    sumIf(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS Total,
    quantilesDDStateIf(0.01, 0.95)(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS Sketch
FROM lk_turns
ARRAY JOIN [
    ('end_of_turn', EndOfTurnDelayS), ('transcription', TranscriptionDelayS),
    ('on_user_turn_completed', OnUserTurnCompletedDelayS)
] AS s
WHERE tupleElement(s, 2) IS NOT NULL
GROUP BY Hour, ServiceName, Language, Stage;
INSERT INTO lk_stage_hours (Hour, ServiceName, Language, Stage, Values, Flagged, Total, Sketch)
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language, Stage,
    count() AS Values,
    countIf(NOT lkd_latency_ok(ValueS)) AS Flagged,
    sumIf(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS Total,
    quantilesDDStateIf(0.01, 0.95)(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS Sketch
FROM lk_turn_steps
WHERE ValueS IS NOT NULL
GROUP BY Hour, ServiceName, Language, Stage;
