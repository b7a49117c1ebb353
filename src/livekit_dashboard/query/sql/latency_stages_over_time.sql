-- panel: latency_stages_over_time
-- Where the response time goes, per time bucket and stage: the average and p95 (ms) of each turn's end-of-turn delay, transcription delay and on_user_turn_completed delay, and of every LLM step's time to first token and every TTS step's time to first byte (a turn with a tool call has two LLM steps). Stages overlap (transcription runs during the end-of-turn wait): they do not add up to the response latency. Values that are negative or over 30 s are counted as flagged, never averaged. Whole-hour buckets run latency_stages_over_time_hourly.sql (a rollup: averages exact, p95 estimated).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, stage String, values UInt64, flagged UInt64, avg_ms Nullable(Float64), p95_ms Nullable(Float64)
SELECT
    bucket,
    stage,
    count() AS values,
    countIf(NOT lkd_latency_ok(v)) AS flagged,
    if(values > flagged, avgIf(assumeNotNull(v), lkd_latency_ok(v)) * 1000, NULL) AS avg_ms,
    if(values > flagged, quantileExactInclusiveIf(0.95)(assumeNotNull(v), lkd_latency_ok(v)) * 1000, NULL) AS p95_ms
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        tupleElement(s, 1) AS stage,
        tupleElement(s, 2) AS v
    FROM lk_turns
    ARRAY JOIN [
        ('end_of_turn', EndOfTurnDelayS),
        ('transcription', TranscriptionDelayS),
        ('on_user_turn_completed', OnUserTurnCompletedDelayS)
    ] AS s
    WHERE {{in_range}}
        AND v IS NOT NULL
        AND {{service_language}}
        AND {{trace_used_model}}
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        Stage AS stage,
        ValueS AS v
    FROM lk_turn_steps
    WHERE {{in_range}}
        AND ValueS IS NOT NULL
        AND {{service_language}}
        AND {{trace_used_model}}
)
GROUP BY bucket, stage
ORDER BY bucket, stage
