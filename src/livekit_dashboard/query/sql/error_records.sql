-- panel: error_records
-- Newest error records (spans with ERROR status, and tool errors), paginated; total counts all of them.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), limit UInt32, offset UInt32
-- returns: total UInt64, time_unix_nano Int64, service String, span_name String, error_type String, message String, duration_ms Float64, http_method String, http_status String, model String, trace_id String, span_id String
SELECT
    count() OVER () AS total,
    toUnixTimestamp64Nano(Timestamp) AS time_unix_nano,
    ServiceName AS service,
    SpanName AS span_name,
    ErrorType AS error_type,
    Message AS message,
    DurationNs / 1e6 AS duration_ms,
    HttpMethod AS http_method,
    HttpStatus AS http_status,
    Model AS model,
    TraceId AS trace_id,
    SpanId AS span_id
FROM lk_errors
WHERE {{in_range}}
    AND {{service_language}}
    AND {{trace_used_model}}
ORDER BY Timestamp DESC, span_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
