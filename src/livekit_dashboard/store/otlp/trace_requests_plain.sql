-- query: trace_requests_plain
-- How many of the OTLP trace requests in {{requests}} hold a value the engine's decode does not render
-- as the Python decode does (lkd_otlp_plain): when any does, the batch is decoded in Python.
SELECT countIf(NOT arrayAll(
    rs -> lkd_otlp_plain(rs.resource.attributes) AND arrayAll(
        ss -> arrayAll(
            s -> lkd_otlp_plain(s.attributes)
                AND arrayAll(e -> lkd_otlp_plain(e.attributes), s.events)
                AND arrayAll(l -> lkd_otlp_plain(l.attributes), s.links),
            ss.spans),
        rs.scope_spans),
    resource_spans)) AS n
FROM {{requests}}
