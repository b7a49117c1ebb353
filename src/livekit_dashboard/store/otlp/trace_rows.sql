-- query: trace_rows
-- otel_traces rows from the OTLP trace requests in {{requests}} (a length-delimited protobuf file), as
-- ingest/spans.py builds them in Python: the Collector's column layout and spellings, invalid spans left
-- out (the request's answer counted them), timestamps clamped to what DateTime64(9) holds.
SELECT
    fromUnixTimestamp64Nano(toInt64(s.start_time_unix_nano)) AS Timestamp,
    lower(hex(s.trace_id)) AS TraceId,
    lower(hex(s.span_id)) AS SpanId,
    lkd_otlp_id(s.parent_span_id) AS ParentSpanId,
    s.trace_state AS TraceState,
    s.name AS SpanName,
    if(s.kind BETWEEN 0 AND 5, ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'][s.kind + 1], '')
        AS SpanKind,
    ResourceAttributes['service.name'] AS ServiceName,
    lkd_otlp_map(rs.resource.attributes) AS ResourceAttributes,
    ss.scope.name AS ScopeName,
    ss.scope.version AS ScopeVersion,
    lkd_otlp_map(s.attributes) AS SpanAttributes,
    if(s.end_time_unix_nano > s.start_time_unix_nano, s.end_time_unix_nano - s.start_time_unix_nano, 0) AS Duration,
    if(s.status.code BETWEEN 0 AND 2, ['Unset', 'Ok', 'Error'][s.status.code + 1], '') AS StatusCode,
    s.status.message AS StatusMessage,
    arrayMap(e -> fromUnixTimestamp64Nano(toInt64(least(e.time_unix_nano, 9223372036854775807))), s.events)
        AS `Events.Timestamp`,
    arrayMap(e -> e.name, s.events) AS `Events.Name`,
    arrayMap(e -> lkd_otlp_map(e.attributes), s.events) AS `Events.Attributes`,
    arrayMap(l -> lkd_otlp_id(l.trace_id), s.links)
        AS `Links.TraceId`,
    arrayMap(l -> lkd_otlp_id(l.span_id), s.links)
        AS `Links.SpanId`,
    arrayMap(l -> l.trace_state, s.links) AS `Links.TraceState`,
    arrayMap(l -> lkd_otlp_map(l.attributes), s.links) AS `Links.Attributes`
FROM {{requests}}
ARRAY JOIN resource_spans AS rs
ARRAY JOIN rs.scope_spans AS ss
ARRAY JOIN ss.spans AS s
WHERE lkd_otlp_valid(s)
