-- query: call_spans
-- The spans of one call's trace with what the call page reads of them (times, ids, name, status, attributes; not the resource, scope, events or links a trace view shows: they are half of what a span's read costs), looked up in the trace's time span (trace_span_window).
-- params: trace_id String, trace_start_s Int64, trace_end_s Int64
-- returns: start_time_unix_nano Int64, duration_ns UInt64, span_id String, parent_span_id String, name String, status_code String, status_message String, attributes Map(String, String)
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
WHERE {{trace_span_window}}
ORDER BY Timestamp, SpanId
-- a span stored twice (a retried request whose answer was lost) is read once
LIMIT 1 BY SpanId
LIMIT 100000
