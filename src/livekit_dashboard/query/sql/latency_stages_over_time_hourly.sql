-- query: latency_stages_over_time_hourly
-- latency_stages_over_time for whole-hour buckets: whole hours from the hourly rollup lk_stage_hours (counts and averages exact; p95 a DDSketch estimate, 1% relative accuracy), the partial hours at the range's edges from the raw rows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, stage String, values UInt64, flagged UInt64, avg_ms Nullable(Float64), p95_ms Nullable(Float64)
WITH
    {{hour_window}}
SELECT
    bucket,
    stage,
    toUInt64(sum(n)) AS values,
    toUInt64(sum(f)) AS flagged,
    if(values > flagged, sum(total) / (values - flagged) * 1000, NULL) AS avg_ms,
    if(values > flagged, toFloat64(quantilesDDMerge(0.01, 0.95)(d)[1]) * 1000, NULL) AS p95_ms
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
        Stage AS stage,
        sum(Values) AS n,
        sum(Flagged) AS f,
        sum(Total) AS total,
        quantilesDDMergeState(0.01, 0.95)(Sketch) AS d
    FROM lk_stage_hours
    WHERE {{rollup_hours}}
        -- the variant serves no model filter (that needs each turn's trace: the exact panel SQL)
        AND empty({models:Array(String)})
        AND {{service_language}}
    GROUP BY bucket, stage
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        tupleElement(s, 1) AS stage,
        count() AS n,
        countIf(NOT lkd_latency_ok(tupleElement(s, 2))) AS f,
        sumIf(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS total,
        quantilesDDStateIf(0.01, 0.95)(assumeNotNull(tupleElement(s, 2)), lkd_latency_ok(tupleElement(s, 2))) AS d
    FROM lk_turns
    ARRAY JOIN [
        ('end_of_turn', EndOfTurnDelayS),
        ('transcription', TranscriptionDelayS),
        ('on_user_turn_completed', OnUserTurnCompletedDelayS)
    ] AS s
    WHERE {{raw_edges}}
        AND tupleElement(s, 2) IS NOT NULL
        AND {{service_language}}
    GROUP BY bucket, stage
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        Stage AS stage,
        count() AS n,
        countIf(NOT lkd_latency_ok(ValueS)) AS f,
        sumIf(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS total,
        quantilesDDStateIf(0.01, 0.95)(assumeNotNull(ValueS), lkd_latency_ok(ValueS)) AS d
    FROM lk_turn_steps
    WHERE {{raw_edges}}
        AND ValueS IS NOT NULL
        AND {{service_language}}
    GROUP BY bucket, stage
)
GROUP BY bucket, stage
ORDER BY bucket, stage
