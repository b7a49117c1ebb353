-- query: trace_window
-- The first start and last end (unix seconds) of a trace's spans, from the trace-id lookup table (otel_traces_trace_id_ts); both 0 when no span of it is stored. The call page reads it once and bounds its reads of the trace's spans and logs with it (trace_span_window, trace_log_window).
-- params: trace_id String
-- returns: start_s Int64, end_s Int64
SELECT toInt64(toUnixTimestamp(min(Start))) AS start_s, toInt64(toUnixTimestamp(max(End))) AS end_s
FROM otel_traces_trace_id_ts
WHERE TraceId = {trace_id:String}
