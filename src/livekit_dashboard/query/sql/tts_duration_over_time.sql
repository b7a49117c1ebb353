-- panel: tts_duration_over_time
-- TTS request duration and time to first byte (avg and p95, ms) per time bucket: exact from lk_requests for sub-hour buckets, else averages exact and p95 as t-digest estimates from the lk_request_latency_hours rollup (edges from lk_requests).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, requests UInt64, avg_duration_ms Float64, p95_duration_ms Float64, avg_ttfb_ms Float64, p95_ttfb_ms Float64
WITH
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 3599999999999, 3600000000000) * 3600) AS first_hour,
    toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600) AS end_hour,
    {step_s:UInt32} % 3600 = 0 AND end_hour > first_hour AS use_rollup,
    if(use_rollup, end_hour, first_hour) AS last_hour
SELECT bucket, requests, avg_duration_ms, p95_duration_ms, avg_ttfb_ms, p95_ttfb_ms
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        count() AS requests,
        avg(DurationNs) / 1e6 AS avg_duration_ms,
        quantileExactInclusive(0.95)(DurationNs) / 1e6 AS p95_duration_ms,
        avg(TtftS) * 1000 AS avg_ttfb_ms,
        quantileExactInclusive(0.95)(TtftS) * 1000 AS p95_ttfb_ms
    FROM lk_requests
    WHERE Stage = 'tts' AND NOT use_rollup
        AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    GROUP BY bucket
    UNION ALL
    SELECT
        bucket,
        toUInt64(sum(n)) AS requests,
        sum(dsum) / requests / 1e6 AS avg_duration_ms,
        toFloat64(quantileTDigestMerge(0.95)(d)) / 1e6 AS p95_duration_ms,
        if(sum(tn) = 0, NULL, sum(tsum) / sum(tn) * 1000) AS avg_ttfb_ms,
        toFloat64(quantileTDigestMerge(0.95)(t)) * 1000 AS p95_ttfb_ms
    FROM (
        SELECT
            toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
            sum(Requests) AS n,
            sum(DurationSum) AS dsum,
            quantileTDigestMergeState(0.95)(Duration) AS d,
            sum(TtftN) AS tn,
            sum(TtftSum) AS tsum,
            quantileTDigestMergeState(0.95)(Ttft) AS t
        FROM lk_request_latency_hours
        WHERE Stage = 'tts' AND use_rollup
            AND Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
            AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
        GROUP BY bucket
        UNION ALL
        SELECT
            toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
            count() AS n,
            sum(DurationNs) AS dsum,
            quantileTDigestState(0.95)(DurationNs) AS d,
            count(TtftS) AS tn,
            sum(ifNull(TtftS, 0)) AS tsum,
            quantileTDigestState(0.95)(TtftS) AS t
        FROM lk_requests
        WHERE Stage = 'tts' AND use_rollup
            AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
                OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
                    AND Timestamp < {end:DateTime64(9, 'UTC')}))
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
            AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
        GROUP BY bucket
    )
    GROUP BY bucket
)
ORDER BY bucket
