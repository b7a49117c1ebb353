-- query: log_list
-- Newest log records, optionally those of one trace and/or span; each with its stable log id.
-- params: trace_id String, span_id String, limit UInt32
-- returns: log_id String, time_unix_nano Int64, service String, severity_text String, ...
SELECT
    {{log_row}}
FROM otel_logs
WHERE ({trace_id:String} = '' OR TraceId = {trace_id:String})
    AND ({span_id:String} = '' OR SpanId = {span_id:String})
ORDER BY Timestamp DESC, log_id
LIMIT {limit:UInt32}
