-- fragment: trace_bounds
-- The first start and last end of a trace's spans (otel_traces_trace_id_ts) as trace_start and trace_end (zero without spans), for a WITH clause.
-- params: trace_id String
(SELECT toDateTime64(min(Start), 9) FROM otel_traces_trace_id_ts WHERE TraceId = {trace_id:String}) AS trace_start,
    (SELECT toDateTime64(max(End), 9) FROM otel_traces_trace_id_ts WHERE TraceId = {trace_id:String}) AS trace_end
