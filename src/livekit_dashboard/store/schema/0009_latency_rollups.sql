-- Latency rollups: per hour, counts and sums plus DDSketch states (nominal 1% relative accuracy) of the durations, for the latency
-- panels over long ranges (whole-hour buckets). A panel merges the whole hours' states with states
-- computed from the raw rows of the partial hours at its range's edges; counts and averages are exact,
-- percentiles are DDSketch estimates (within 1%) (ranges with sub-hour buckets use exact percentiles from raw rows).

-- Agent turns per hour x service x language.
-- retention: traces Hour
CREATE TABLE IF NOT EXISTS lk_turn_hours {{on_cluster}} (
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    Turns SimpleAggregateFunction(sum, UInt64),
    Failed SimpleAggregateFunction(sum, UInt64),
    Duration AggregateFunction(quantilesDD(0.01, 0.5, 0.95, 0.99), UInt64)
) ENGINE = {{aggregating_engine}}
PARTITION BY toYYYYMM(Hour)
ORDER BY (Hour, ServiceName, Language);

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_turn_hours_mv {{on_cluster}} TO lk_turn_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    countIf(IsError = 1) AS Failed,
    quantilesDDState(0.01, 0.5, 0.95, 0.99)(DurationNs) AS Duration
FROM lk_turns
GROUP BY Hour, ServiceName, Language;

-- a crash during the backfill re-runs this file: start from empty, never add the rows twice
TRUNCATE TABLE IF EXISTS lk_turn_hours {{on_cluster}};
INSERT INTO lk_turn_hours (Hour, ServiceName, Language, Turns, Failed, Duration)
SELECT
    toStartOfHour(Timestamp) AS Hour, ServiceName, Language,
    count() AS Turns,
    countIf(IsError = 1) AS Failed,
    quantilesDDState(0.01, 0.5, 0.95, 0.99)(DurationNs) AS Duration
FROM lk_turns
GROUP BY Hour, ServiceName, Language;

-- Provider requests per hour x stage x service x language x provider x model: duration and time to
-- first token/byte.
-- retention: traces Hour
CREATE TABLE IF NOT EXISTS lk_request_latency_hours {{on_cluster}} (
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    Stage LowCardinality(String),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    Requests SimpleAggregateFunction(sum, UInt64),
    DurationSum SimpleAggregateFunction(sum, UInt64),
    Duration AggregateFunction(quantileDD(0.01, 0.95), UInt64),
    TtftN SimpleAggregateFunction(sum, UInt64),
    TtftSum SimpleAggregateFunction(sum, Float64),
    Ttft AggregateFunction(quantileDD(0.01, 0.95), Nullable(Float64))
) ENGINE = {{aggregating_engine}}
PARTITION BY toYYYYMM(Hour)
ORDER BY (Stage, Hour, ServiceName, Language, Provider, Model);

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
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model;

-- a crash during the backfill re-runs this file: start from empty, never add the rows twice
TRUNCATE TABLE IF EXISTS lk_request_latency_hours {{on_cluster}};
INSERT INTO lk_request_latency_hours (
    Hour, Stage, ServiceName, Language, Provider, Model, Requests, DurationSum, Duration, TtftN, TtftSum, Ttft
)
SELECT
    toStartOfHour(Timestamp) AS Hour, Stage, ServiceName, Language, Provider, Model,
    count() AS Requests,
    sum(DurationNs) AS DurationSum,
    quantileDDState(0.01, 0.95)(DurationNs) AS Duration,
    count(TtftS) AS TtftN,
    sumOrDefault(ifNull(TtftS, 0)) AS TtftSum,
    quantileDDState(0.01, 0.95)(TtftS) AS Ttft
FROM lk_requests
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model;

-- Agent turns per call (trace) and day, for the per-call panels: a join with 139k calls instead of
-- grouping a million turns. A call's turns are counted whole (a call running past midnight has a row
-- per day; the panels sum them).
-- retention: traces Day
CREATE TABLE IF NOT EXISTS lk_call_turns {{on_cluster}} (
    Day Date,
    TraceId String CODEC(ZSTD(1)),
    Turns SimpleAggregateFunction(sum, UInt64),
    Failed SimpleAggregateFunction(sum, UInt64)
) ENGINE = {{aggregating_engine}}
PARTITION BY toYYYYMM(Day)
ORDER BY (Day, TraceId);

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_turns_mv {{on_cluster}} TO lk_call_turns AS
SELECT toDate(Timestamp) AS Day, TraceId, count() AS Turns, countIf(IsError = 1) AS Failed
FROM lk_turns
GROUP BY Day, TraceId;

-- a crash during the backfill re-runs this file: start from empty, never add the rows twice
TRUNCATE TABLE IF EXISTS lk_call_turns {{on_cluster}};
INSERT INTO lk_call_turns (Day, TraceId, Turns, Failed)
SELECT toDate(Timestamp) AS Day, TraceId, count() AS Turns, countIf(IsError = 1) AS Failed
FROM lk_turns
GROUP BY Day, TraceId;
