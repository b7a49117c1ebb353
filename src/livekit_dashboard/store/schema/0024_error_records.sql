-- note: the first settle round after it classifies the error records of every stored trace that has an error, about 2 s per 1,000 such traces on 2 cores
-- The error records, classified once when their trace settles (issue 18: the three error panels read
-- lk_errors and worked out at every read which ERROR span is a root cause, which request recovered, and
-- which provider a record that names none belongs to: 200-270 ms each over 30 days of 10M spans).
-- Settling (query/sql/settle_errors.sql, beside each call's record) writes a trace's records here:
-- failures (one per root cause), recovered requests and tool errors, each with its provider, model and
-- error group, exactly as the fragments define them. A trace settled again writes its records again
-- (the newest SettledAt of a record wins) and deletes those it no longer has (Deleted = 1: a failure
-- that later got a failed child, an attempt whose request later failed); read with FINAL.
-- Traces of every kind settle, not only calls: an ERROR span of a service that runs no agent session
-- is an error record too.
-- retention: traces toDateTime(Timestamp)
CREATE TABLE IF NOT EXISTS lk_error_records {{on_cluster}} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    -- failure | recovered | tool_error
    Kind LowCardinality(String),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    Simulated UInt8,
    SpanName LowCardinality(String),
    Stage LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    ErrorType LowCardinality(String),
    Message String CODEC(ZSTD(1)),
    DurationNs UInt64 CODEC(T64, ZSTD(1)),
    HttpMethod LowCardinality(String),
    HttpStatus LowCardinality(String),
    -- the record's error group (fragments/error_group.sql)
    ErrorGroup LowCardinality(String),
    SettledAt DateTime64(3),
    Deleted UInt8
) ENGINE = {{replacing_engine}}(SettledAt, Deleted)
PARTITION BY toDate(Timestamp)
ORDER BY (Timestamp, TraceId, SpanId, Kind)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

-- the traces stored before this migration settle their error records in the first round
INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId)
SELECT now64(3) AS TouchedAt, TraceId, '' AS CallId FROM lk_errors GROUP BY TraceId;
