-- fragment: trace_log_window
-- A log record (otel_logs) of the trace, looked up in the trace's time span (from otel_traces_trace_id_ts, a minute either side; anywhere when the trace has no spans).
-- params: trace_id String
TraceId = {trace_id:String}
    AND (trace_start = toDateTime64(0, 9)
        OR (Timestamp >= trace_start - INTERVAL 1 MINUTE AND Timestamp < trace_end + INTERVAL 1 MINUTE))
