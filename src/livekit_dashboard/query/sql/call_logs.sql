-- query: call_logs
-- The log records of one call's trace, oldest first, looked up in the trace's time span (trace_log_window); each with its stable log id.
-- params: trace_id String, trace_start_s Int64, trace_end_s Int64, limit UInt32
-- returns: log_id String, time_unix_nano Int64, service String, severity_text String, severity_number UInt8, body String, trace_id String, span_id String, scope_name String
SELECT
    {{log_row}}
FROM otel_logs
WHERE {{trace_log_window}}
ORDER BY Timestamp, log_id
LIMIT {limit:UInt32}
