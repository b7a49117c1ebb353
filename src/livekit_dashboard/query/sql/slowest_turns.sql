-- panel: slowest_turns
-- The slowest responses in the range, slowest first (valid response latencies only), with each turn's stages (ms) and the one that took longest; each opens its call page at that turn.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), limit UInt32, offset UInt32, simulated String
-- returns: total UInt64, time_unix_nano Int64, service String, agent String, trace_id String, span_id String, response_ms Float64, end_of_turn_ms Nullable(Float64), transcription_ms Nullable(Float64), on_user_turn_completed_ms Nullable(Float64), llm_ttft_ms Nullable(Float64), tts_ttfb_ms Nullable(Float64), tool_round_ms Nullable(Float64), dominant_stage String, user_text String
-- The total counts whole hours in lk_turn_hours (a third of the time of counting the raw turns of 30
-- days). The page is a plain ORDER BY ... LIMIT: ClickHouse sorts the narrow columns and reads the wide ones
-- (UserText) for the page's rows only. Its turns' LLM and TTS steps are joined to it, the page being
-- the join's small side, so the steps' read is filtered by the page's span ids as it runs (a runtime
-- join filter). A window function (count() OVER ()), the page held in an array, a CTE read twice, or
-- the page read again as an IN set each measured slower (docs/benchmarks.md).
WITH
    {{hour_window}}
SELECT * EXCEPT (ranked, llm, tts, tool_round) FROM (
SELECT
    -- every turn the filters keep, for the pager: whole hours counted in the hourly rollup (which
    -- serves no model filter: that needs each turn's call), the rest raw
    (SELECT sum(n) FROM (
        SELECT sum(Responses) AS n FROM lk_turn_hours
        WHERE {{rollup_hours}} AND empty({models:Array(String)}) AND {{service_language}}
        UNION ALL
        SELECT count() AS n FROM lk_turns
        WHERE {{responses_kept}} AND (NOT empty({models:Array(String)}) OR {{raw_edges}})
    )) AS total,
    toUnixTimestamp64Nano(t.Timestamp) AS time_unix_nano,
    t.ServiceName AS service,
    t.AgentName AS agent,
    t.TraceId AS trace_id,
    t.SpanId AS span_id,
    assumeNotNull(t.E2eLatencyS) * 1000 AS response_ms,
    t.EndOfTurnDelayS * 1000 AS end_of_turn_ms,
    t.TranscriptionDelayS * 1000 AS transcription_ms,
    t.OnUserTurnCompletedDelayS * 1000 AS on_user_turn_completed_ms,
    -- the turn's first LLM and TTS steps
    argMinIf(s.ValueS, s.Timestamp, s.Stage = 'llm_ttft') AS llm,
    argMinIf(s.ValueS, s.Timestamp, s.Stage = 'tts_ttfb') AS tts,
    llm * 1000 AS llm_ttft_ms,
    tts * 1000 AS tts_ttfb_ms,
    -- a reply that called tools ran the LLM again after them: from its first LLM step's start to its
    -- last's (the first LLM step whole, the tools, the wait), NULL for a single LLM step
    if(countIf(s.Stage = 'llm_ttft') > 1,
        (toUnixTimestamp64Nano(maxIf(s.Timestamp, s.Stage = 'llm_ttft'))
            - toUnixTimestamp64Nano(minIf(s.Timestamp, s.Stage = 'llm_ttft'))) / 1e9,
        NULL) AS tool_round,
    tool_round * 1000 AS tool_round_ms,
    -- the longest of the stages fit for a percentile ('' when none is)
    arraySort(
        x -> -assumeNotNull(tupleElement(x, 2)),
        arrayFilter(x -> lkd_latency_ok(tupleElement(x, 2)), [
            ('end_of_turn', t.EndOfTurnDelayS), ('transcription', t.TranscriptionDelayS),
            ('on_user_turn_completed', t.OnUserTurnCompletedDelayS), ('llm_ttft', llm), ('tts_ttfb', tts),
            ('tool_round', tool_round)
        ])
    ) AS ranked,
    if(empty(ranked), '', tupleElement(ranked[1], 1)) AS dominant_stage,
    t.UserText AS user_text
FROM (
    SELECT
        Timestamp, TraceId, SpanId, ServiceName, AgentName, E2eLatencyS, EndOfTurnDelayS, TranscriptionDelayS,
        OnUserTurnCompletedDelayS, UserText
    FROM lk_turns
    WHERE {{responses_kept}}
    ORDER BY E2eLatencyS DESC, SpanId
    LIMIT {limit:UInt32} OFFSET {offset:UInt32}
) AS t
LEFT JOIN (
    -- the steps (child llm_node / tts_node spans) start within their turn
    SELECT TurnSpanId, ValueS, Timestamp, Stage
    FROM lk_turn_steps
    WHERE Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 10 MINUTE AND Timestamp >= {start:DateTime64(9, 'UTC')}
) AS s ON s.TurnSpanId = t.SpanId
-- one row per turn of the page, with its steps
GROUP BY t.SpanId, t.Timestamp, t.TraceId, t.ServiceName, t.AgentName, t.E2eLatencyS, t.EndOfTurnDelayS,
    t.TranscriptionDelayS, t.OnUserTurnCompletedDelayS, t.UserText
)
ORDER BY response_ms DESC, span_id
