-- query: trace_spans
-- Every span of one trace, looked up in the trace's time span (trace_span_window).
-- params: trace_id String, trace_start_s Int64, trace_end_s Int64
-- returns: start_time_unix_nano Int64, trace_id String, span_id String, parent_span_id String, ...
SELECT
    toUnixTimestamp64Nano(Timestamp) AS start_time_unix_nano,
    Duration AS duration_ns,
    TraceId AS trace_id,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    TraceState AS trace_state,
    SpanName AS name,
    SpanKind AS kind,
    ServiceName AS service,
    StatusCode AS status_code,
    StatusMessage AS status_message,
    ScopeName AS scope_name,
    ScopeVersion AS scope_version,
    SpanAttributes AS attributes,
    ResourceAttributes AS resource_attributes,
    arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp) AS event_times,
    Events.Name AS event_names,
    Events.Attributes AS event_attributes,
    Links.TraceId AS link_trace_ids,
    Links.SpanId AS link_span_ids,
    Links.TraceState AS link_trace_states,
    Links.Attributes AS link_attributes
FROM otel_traces
WHERE {{trace_span_window}}
ORDER BY Timestamp, SpanId
-- a client retrying a request whose answer was lost (server killed after storing it) sends the same
-- spans twice: read each span once
LIMIT 1 BY SpanId
LIMIT 100000
