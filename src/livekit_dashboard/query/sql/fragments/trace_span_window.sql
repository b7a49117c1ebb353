-- fragment: trace_span_window
-- A span (otel_traces) of the trace, looked up in its time span (trace_window.sql: start_s, end_s in unix seconds). A trace the lookup table does not know has no spans, and its callers do not read them (lookup.has_spans). Bounds are DateTime64 on purpose: DateTime bounds mis-prune the toDateTime(Timestamp) key.
-- params: trace_id String, trace_start_s Int64, trace_end_s Int64
TraceId = {trace_id:String}
    AND Timestamp >= toDateTime64({trace_start_s:Int64}, 9, 'UTC')
    AND Timestamp < toDateTime64({trace_end_s:Int64} + 1, 9, 'UTC')
