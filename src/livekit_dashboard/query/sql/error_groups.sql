-- panel: error_groups
-- Error records of the range grouped by root cause (kind, service, stage, provider, model, error type, message pattern), most occurrences first: occurrences, affected calls, first and last seen.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), limit UInt32, offset UInt32, simulated String
-- returns: total UInt64, group String, kind String, service String, stage String, provider String, model String, error_type String, message String, occurrences UInt64, calls UInt64, first_seen_unix_nano Int64, last_seen_unix_nano Int64, example_trace_id String, example_span_id String
SELECT
    count() OVER () AS total,
    group,
    any(Kind) AS kind,
    any(ServiceName) AS service,
    any(Stage) AS stage,
    any(Provider) AS provider,
    any(Model) AS model,
    any(ErrorType) AS error_type,
    argMax(Message, Timestamp) AS message,
    count() AS occurrences,
    uniqExact(TraceId) AS calls,
    toUnixTimestamp64Nano(min(Timestamp)) AS first_seen_unix_nano,
    toUnixTimestamp64Nano(max(Timestamp)) AS last_seen_unix_nano,
    argMax(TraceId, Timestamp) AS example_trace_id,
    argMax(SpanId, Timestamp) AS example_span_id
FROM (
    SELECT *, ErrorGroup AS group
    FROM ({{error_records}})
)
GROUP BY group
ORDER BY kind = 'failure' DESC, occurrences DESC, group
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
