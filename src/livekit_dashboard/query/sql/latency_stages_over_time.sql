-- panel: latency_stages_over_time
-- Where the response time goes, per time bucket and stage: the average and p95 (ms) of each turn's end-of-turn delay, transcription delay, on_user_turn_completed delay, LLM time to first token and TTS time to first byte (of the turn's first LLM and TTS step). Stages overlap (transcription runs during the end-of-turn wait): they do not add up to the response latency. Values that are negative or over 30 s are counted as flagged, never averaged.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, stage String, values UInt64, flagged UInt64, avg_ms Nullable(Float64), p95_ms Nullable(Float64)
WITH turns AS (
    SELECT
        SpanId,
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        EndOfTurnDelayS, TranscriptionDelayS, OnUserTurnCompletedDelayS
    FROM lk_turns
    WHERE {{in_range}}
        AND {{service_language}}
        AND {{trace_used_model}}
)
SELECT
    bucket,
    stage,
    count() AS values,
    countIf(NOT lkd_latency_ok(v)) AS flagged,
    if(values > flagged, avgIf(assumeNotNull(v), lkd_latency_ok(v)) * 1000, NULL) AS avg_ms,
    if(values > flagged, quantileExactInclusiveIf(0.95)(assumeNotNull(v), lkd_latency_ok(v)) * 1000, NULL) AS p95_ms
FROM (
    SELECT bucket, tupleElement(s, 1) AS stage, tupleElement(s, 2) AS v
    FROM turns
    ARRAY JOIN [
        ('end_of_turn', EndOfTurnDelayS),
        ('transcription', TranscriptionDelayS),
        ('on_user_turn_completed', OnUserTurnCompletedDelayS)
    ] AS s
    WHERE v IS NOT NULL
    UNION ALL
    SELECT t.bucket AS bucket, st.Stage AS stage, st.v AS v
    FROM (
        -- a turn's steps start after it: look a few minutes past the range's end
        SELECT TurnSpanId, Stage, argMin(ValueS, Timestamp) AS v
        FROM lk_turn_steps
        WHERE Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 10 MINUTE AND Timestamp >= {start:DateTime64(9, 'UTC')}
            AND ValueS IS NOT NULL
        GROUP BY TurnSpanId, Stage
    ) AS st
    INNER JOIN turns AS t ON t.SpanId = st.TurnSpanId
)
GROUP BY bucket, stage
ORDER BY bucket, stage
