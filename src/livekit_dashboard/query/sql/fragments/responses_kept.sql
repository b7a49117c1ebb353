-- fragment: responses_kept
-- A turn (lk_turns) of [start, end) with a valid response latency (lkd_latency_ok) that the service, SDK-language, model and traffic filters keep.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
{{in_range}}
    AND lkd_latency_ok(E2eLatencyS)
    AND {{service_language}}
    AND {{trace_used_model}}
