-- query: call_spans
-- The spans of one call's trace with what the call page reads of them (times, ids, name, status, attributes; not the resource, scope, events or links a trace view shows: they are half of what a span's read costs), bounded in time like trace_spans.
-- params: trace_id String
-- returns: start_time_unix_nano Int64, duration_ns UInt64, span_id String, parent_span_id String, name String, status_code String, status_message String, attributes Map(String, String)
WITH {{trace_bounds}}
SELECT
    toUnixTimestamp64Nano(Timestamp) AS start_time_unix_nano,
    Duration AS duration_ns,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    SpanName AS name,
    StatusCode AS status_code,
    StatusMessage AS status_message,
    SpanAttributes AS attributes
FROM otel_traces
WHERE TraceId = {trace_id:String}
    AND (trace_start = toDateTime64(0, 9) OR (Timestamp >= trace_start AND Timestamp < trace_end + INTERVAL 1 SECOND))
ORDER BY Timestamp, SpanId
-- a span stored twice (a retried request whose answer was lost) is read once
LIMIT 1 BY SpanId
LIMIT 100000
