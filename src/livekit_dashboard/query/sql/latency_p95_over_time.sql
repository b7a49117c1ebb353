-- panel: latency_p95_over_time
-- Agent-turn duration percentiles (p50, p95, p99, ms) per time bucket and service; whole-hour buckets run latency_p95_over_time_hourly.sql (a rollup, percentiles estimated).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, turns UInt64, p50_ms Float64, p95_ms Float64, p99_ms Float64
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service,
    count() AS turns,
    quantileExactInclusive(0.5)(DurationNs) / 1e6 AS p50_ms,
    quantileExactInclusive(0.95)(DurationNs) / 1e6 AS p95_ms,
    quantileExactInclusive(0.99)(DurationNs) / 1e6 AS p99_ms
FROM lk_turns
WHERE {{in_range}}
    AND {{service_language}}
    AND {{trace_used_model}}
GROUP BY bucket, service
ORDER BY bucket, service
