-- query: trace_requests_check
-- Before the engine stores the OTLP trace requests in {{requests}}: how many hold a value its decode does
-- not render as the Python decode does (lkd_otlp_plain), and how many valid spans it reads in them
-- (Python's count differs for a body protobuf reads otherwise, such as one with a field sent twice).
SELECT
    countIf(NOT arrayAll(
        rs -> lkd_otlp_plain(rs.resource.attributes)
            AND arrayAll(ss -> arrayAll(s -> lkd_otlp_span_plain(s), ss.spans), rs.scope_spans),
        resource_spans)) AS odd,
    sum(arraySum(rs -> arraySum(ss -> arrayCount(s -> lkd_otlp_valid(s), ss.spans), rs.scope_spans), resource_spans))
        AS valid
FROM {{requests}}
