-- panel: latency_p95_over_time
-- Response latency percentiles (p50, p95, p99, ms) per time bucket and service: the time from the end of the user's speech to the agent's first audio (lk.e2e_latency of spoken turns). Values that are negative or over 30 s (known framework clock bugs) are counted as flagged, never put in a percentile. Whole-hour buckets run latency_p95_over_time_hourly.sql (a rollup, percentiles estimated).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, responses UInt64, flagged UInt64, p50_ms Nullable(Float64), p95_ms Nullable(Float64), p99_ms Nullable(Float64)
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service,
    countIf(lkd_latency_ok(E2eLatencyS)) AS responses,
    countIf(NOT lkd_latency_ok(E2eLatencyS)) AS flagged,
    if(responses > 0, quantileExactInclusiveIf(0.5)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) * 1000, NULL)
        AS p50_ms,
    if(responses > 0, quantileExactInclusiveIf(0.95)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) * 1000, NULL)
        AS p95_ms,
    if(responses > 0, quantileExactInclusiveIf(0.99)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) * 1000, NULL)
        AS p99_ms
FROM lk_turns
WHERE {{in_range}}
    AND E2eLatencyS IS NOT NULL
    AND {{service_language}}
    AND {{trace_used_model}}
GROUP BY bucket, service
ORDER BY bucket, service
