-- query: latency_p95_over_time_hourly
-- latency_p95_over_time for whole-hour buckets: whole hours from the hourly rollup (counts and averages exact, percentiles DDSketch estimates of about 1%), the partial hours at the range's edges from the raw rows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, turns UInt64, p50_ms Float64, p95_ms Float64, p99_ms Float64
WITH
    {{hour_window}}
SELECT bucket, service, turns, p50_ms, p95_ms, p99_ms
FROM (
    SELECT
        bucket,
        service,
        toUInt64(sum(n)) AS turns,
        toFloat64(quantilesDDMerge(0.01, 0.5, 0.95, 0.99)(d)[1]) / 1e6 AS p50_ms,
        toFloat64(quantilesDDMerge(0.01, 0.5, 0.95, 0.99)(d)[2]) / 1e6 AS p95_ms,
        toFloat64(quantilesDDMerge(0.01, 0.5, 0.95, 0.99)(d)[3]) / 1e6 AS p99_ms
    FROM (
        SELECT
            toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
            ServiceName AS service,
            sum(Turns) AS n,
            quantilesDDMergeState(0.01, 0.5, 0.95, 0.99)(Duration) AS d
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
            count() AS n,
            quantilesDDState(0.01, 0.5, 0.95, 0.99)(DurationNs) AS d
        FROM lk_turns
        WHERE {{raw_edges}}
            AND {{service_language}}
        GROUP BY bucket, service
    )
    GROUP BY bucket, service
)
ORDER BY bucket, service
