-- panel: slowest_turns
-- The slowest responses in the range, slowest first (valid response latencies only), with each turn's stages (ms) and the one that took longest; each opens its call page at that turn.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), limit UInt32, offset UInt32, simulated String
-- returns: total UInt64, time_unix_nano Int64, service String, agent String, trace_id String, span_id String, response_ms Float64, end_of_turn_ms Nullable(Float64), transcription_ms Nullable(Float64), on_user_turn_completed_ms Nullable(Float64), llm_ttft_ms Nullable(Float64), tts_ttfb_ms Nullable(Float64), dominant_stage String, user_text String
SELECT * EXCEPT (ranked) FROM (
WITH slow AS (
    SELECT
        count() OVER () AS total,
        Timestamp, TraceId, SpanId, ServiceName, AgentName, E2eLatencyS, EndOfTurnDelayS, TranscriptionDelayS,
        OnUserTurnCompletedDelayS, UserText
    FROM lk_turns
    WHERE {{in_range}}
        AND lkd_latency_ok(E2eLatencyS)
        AND {{service_language}}
        AND {{trace_used_model}}
    ORDER BY E2eLatencyS DESC, SpanId
    LIMIT {limit:UInt32} OFFSET {offset:UInt32}
)
SELECT
    slow.total AS total,
    toUnixTimestamp64Nano(slow.Timestamp) AS time_unix_nano,
    slow.ServiceName AS service,
    slow.AgentName AS agent,
    slow.TraceId AS trace_id,
    slow.SpanId AS span_id,
    assumeNotNull(slow.E2eLatencyS) * 1000 AS response_ms,
    slow.EndOfTurnDelayS * 1000 AS end_of_turn_ms,
    slow.TranscriptionDelayS * 1000 AS transcription_ms,
    slow.OnUserTurnCompletedDelayS * 1000 AS on_user_turn_completed_ms,
    s.llm * 1000 AS llm_ttft_ms,
    s.tts * 1000 AS tts_ttfb_ms,
    -- the longest of the stages fit for a percentile ('' when none is)
    arraySort(
        x -> -assumeNotNull(tupleElement(x, 2)),
        arrayFilter(x -> lkd_latency_ok(tupleElement(x, 2)), [
            ('end_of_turn', slow.EndOfTurnDelayS), ('transcription', slow.TranscriptionDelayS),
            ('on_user_turn_completed', slow.OnUserTurnCompletedDelayS), ('llm_ttft', s.llm), ('tts_ttfb', s.tts)
        ])
    ) AS ranked,
    if(empty(ranked), '', tupleElement(ranked[1], 1)) AS dominant_stage,
    slow.UserText AS user_text
FROM slow
LEFT JOIN (
    SELECT
        TurnSpanId,
        argMinIf(ValueS, Timestamp, Stage = 'llm_ttft') AS llm,
        argMinIf(ValueS, Timestamp, Stage = 'tts_ttfb') AS tts
    FROM lk_turn_steps
    WHERE TurnSpanId IN (SELECT SpanId FROM slow)
        AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 10 MINUTE AND Timestamp >= {start:DateTime64(9, 'UTC')}
    GROUP BY TurnSpanId
) AS s ON s.TurnSpanId = slow.SpanId
ORDER BY response_ms DESC, span_id
)
ORDER BY response_ms DESC, span_id
