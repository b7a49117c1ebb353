-- panel: error_records
-- Error records of the range, newest first (paginated; total counts all): failures (one per root cause), requests that recovered after failed attempts, tool errors; group narrows to one error group's occurrences.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), group String, limit UInt32, offset UInt32, simulated String
-- returns: total UInt64, time_unix_nano Int64, kind String, service String, stage String, span_name String, provider String, model String, error_type String, message String, duration_ms Float64, http_method String, http_status String, trace_id String, span_id String, group String
SELECT
    count() OVER () AS total,
    toUnixTimestamp64Nano(Timestamp) AS time_unix_nano,
    Kind AS kind,
    ServiceName AS service,
    Stage AS stage,
    SpanName AS span_name,
    Provider AS provider,
    Model AS model,
    ErrorType AS error_type,
    Message AS message,
    DurationNs / 1e6 AS duration_ms,
    HttpMethod AS http_method,
    HttpStatus AS http_status,
    TraceId AS trace_id,
    SpanId AS span_id,
    ErrorGroup AS group
FROM ({{error_records}})
WHERE {group:String} = '' OR ErrorGroup = {group:String}
ORDER BY Timestamp DESC, span_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
