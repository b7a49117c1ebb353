-- query: call_logs
-- The log records of one call's trace, oldest first, looked up in the trace's time span (from otel_traces_trace_id_ts, a minute either side); each with its stable log id.
-- params: trace_id String, limit UInt32
-- returns: log_id String, time_unix_nano Int64, service String, severity_text String, severity_number UInt8, body String, trace_id String, span_id String, scope_name String
WITH
    (SELECT toDateTime64(min(Start), 9) FROM otel_traces_trace_id_ts WHERE TraceId = {trace_id:String}) AS trace_start,
    (SELECT toDateTime64(max(End), 9) FROM otel_traces_trace_id_ts WHERE TraceId = {trace_id:String}) AS trace_end
SELECT
    {{log_row}}
FROM otel_logs
WHERE TraceId = {trace_id:String}
    AND (trace_start = toDateTime64(0, 9)
        OR (Timestamp >= trace_start - INTERVAL 1 MINUTE AND Timestamp < trace_end + INTERVAL 1 MINUTE))
ORDER BY Timestamp, log_id
LIMIT {limit:UInt32}
