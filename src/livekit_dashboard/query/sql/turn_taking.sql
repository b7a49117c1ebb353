-- panel: turn_taking
-- Turn-taking per time bucket and service: agent replies, how many the caller cut off (lk.interrupted; the interruption rate) and, of those, how many seconds of the reply had played (lk.playout.position, on average).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, replies UInt64, interrupted UInt64, interruption_rate Float64, avg_played_s Nullable(Float64)
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service,
    count() AS replies,
    countIf(Interrupted) AS interrupted,
    interrupted / replies AS interruption_rate,
    if(countIf(Interrupted AND PlayoutPositionS IS NOT NULL) > 0,
        avgIf(assumeNotNull(PlayoutPositionS), Interrupted AND PlayoutPositionS IS NOT NULL), NULL) AS avg_played_s
FROM lk_turns
WHERE {{in_range}}
    AND {{service_language}}
    AND {{trace_used_model}}
GROUP BY bucket, service
ORDER BY bucket, service
