-- query: tts_duration_over_time_hourly
-- tts_duration_over_time for whole-hour buckets: whole hours from the hourly rollup (counts and averages exact, percentiles DDSketch estimates of about 1%), the partial hours at the range's edges from the raw rows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, requests UInt64, avg_duration_ms Float64, p95_duration_ms Float64, avg_ttfb_ms Float64, p95_ttfb_ms Float64
WITH
    {{hour_window}}
SELECT bucket, requests, avg_duration_ms, p95_duration_ms, avg_ttfb_ms, p95_ttfb_ms
FROM (
    SELECT
        bucket,
        toUInt64(sum(n)) AS requests,
        sum(dsum) / requests / 1e6 AS avg_duration_ms,
        toFloat64(quantileDDMerge(0.01, 0.95)(d)) / 1e6 AS p95_duration_ms,
        if(sum(tn) = 0, NULL, sum(tsum) / sum(tn) * 1000) AS avg_ttfb_ms,
        toFloat64(quantileDDMerge(0.01, 0.95)(t)) * 1000 AS p95_ttfb_ms
    FROM (
        SELECT
            toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
            sum(Requests) AS n,
            sum(DurationSum) AS dsum,
            quantileDDMergeState(0.01, 0.95)(Duration) AS d,
            sum(TtftN) AS tn,
            sum(TtftSum) AS tsum,
            quantileDDMergeState(0.01, 0.95)(Ttft) AS t
        FROM lk_request_latency_hours
        WHERE Stage = 'tts'
            AND {{rollup_hours}}
            AND {{service_language}}
            AND {{model}}
        GROUP BY bucket
        UNION ALL
        SELECT
            toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
            count() AS n,
            sum(DurationNs) AS dsum,
            quantileDDState(0.01, 0.95)(DurationNs) AS d,
            count(TtftS) AS tn,
            sum(ifNull(TtftS, 0)) AS tsum,
            quantileDDState(0.01, 0.95)(TtftS) AS t
        FROM lk_requests
        WHERE IsRequest = 1 AND Stage = 'tts'
            AND {{raw_edges}}
            AND {{service_language}}
            AND {{model}}
        GROUP BY bucket
    )
    GROUP BY bucket
)
ORDER BY bucket
