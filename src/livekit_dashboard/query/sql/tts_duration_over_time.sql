-- panel: tts_duration_over_time
-- TTS request duration and time to first byte (avg and p95, ms) per time bucket; whole-hour buckets run tts_duration_over_time_hourly.sql (a rollup, percentiles estimated).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, requests UInt64, avg_duration_ms Float64, p95_duration_ms Float64, avg_ttfb_ms Float64, p95_ttfb_ms Float64
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    count() AS requests,
    avg(DurationNs) / 1e6 AS avg_duration_ms,
    quantileExactInclusive(0.95)(DurationNs) / 1e6 AS p95_duration_ms,
    avg(TtftS) * 1000 AS avg_ttfb_ms,
    quantileExactInclusive(0.95)(TtftS) * 1000 AS p95_ttfb_ms
FROM lk_requests
WHERE IsRequest = 1 AND Stage = 'tts'
    AND {{in_range}}
    AND {{service_language}}
    AND {{model}}
GROUP BY bucket
ORDER BY bucket
