-- query: latency_p95_over_time_hourly
-- latency_p95_over_time for whole-hour buckets: whole hours from the hourly rollup (counts exact; percentiles DDSketch estimates, 1% relative accuracy), the partial hours at the range's edges from the raw rows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, responses UInt64, flagged UInt64, p50_ms Nullable(Float64), p95_ms Nullable(Float64), p99_ms Nullable(Float64)
WITH
    {{hour_window}}
SELECT
    bucket,
    service,
    toUInt64(sum(n)) AS responses,
    toUInt64(sum(f)) AS flagged,
    if(responses > 0, toFloat64(quantilesDDMerge(0.01, 0.5, 0.95, 0.99)(d)[1]) * 1000, NULL) AS p50_ms,
    if(responses > 0, toFloat64(quantilesDDMerge(0.01, 0.5, 0.95, 0.99)(d)[2]) * 1000, NULL) AS p95_ms,
    if(responses > 0, toFloat64(quantilesDDMerge(0.01, 0.5, 0.95, 0.99)(d)[3]) * 1000, NULL) AS p99_ms
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        sum(Responses) AS n,
        sum(Flagged) AS f,
        quantilesDDMergeState(0.01, 0.5, 0.95, 0.99)(Response) AS d
    FROM lk_turn_hours
    WHERE {{rollup_hours}}
        -- the variant serves no model filter (that needs each turn's trace: the exact panel SQL)
        AND empty({models:Array(String)})
        AND {{service_language}}
    GROUP BY bucket, service
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        countIf(lkd_latency_ok(E2eLatencyS)) AS n,
        countIf(E2eLatencyS IS NOT NULL AND NOT lkd_latency_ok(E2eLatencyS)) AS f,
        quantilesDDStateIf(0.01, 0.5, 0.95, 0.99)(assumeNotNull(E2eLatencyS), lkd_latency_ok(E2eLatencyS)) AS d
    FROM lk_turns
    WHERE {{raw_edges}}
        AND {{service_language}}
    GROUP BY bucket, service
)
GROUP BY bucket, service
HAVING responses + flagged > 0
ORDER BY bucket, service
