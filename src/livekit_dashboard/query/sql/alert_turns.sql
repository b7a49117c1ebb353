-- query: alert_turns
-- An alert's turn measures over its window: valid response latencies (the latency panel's definition: lk.e2e_latency of agent turns, flagged values left out) and their p95 (seconds), of the services and models asked for, production traffic (or as simulated says).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: responses UInt64, p95_s Nullable(Float64)
SELECT
    countIf(lkd_latency_ok(E2eLatencyS)) AS responses,
    if(responses > 0, quantileExactInclusiveIf(0.95)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)), NULL) AS p95_s
FROM lk_turns
WHERE {{in_range}}
    AND E2eLatencyS IS NOT NULL
    AND {{service_language}}
    AND {{trace_used_model}}
