-- panel: error_rate
-- error_rate over the raw tables (no rollups and no settled error records: the failures and recovered
-- requests classified at read time by the fragments that settle them, for the traces given).
-- params: traces Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: requests UInt64, failed_requests UInt64, recovered_requests UInt64, request_error_rate Float64, turns UInt64, failed_turns UInt64, turn_error_rate Float64, calls UInt64, failed_calls UInt64, call_error_rate Float64, failures UInt64, tool_errors UInt64
SELECT
    r.requests AS requests,
    r.failed_requests AS failed_requests,
    rec.recovered_requests AS recovered_requests,
    if(requests = 0, 0, failed_requests / requests) AS request_error_rate,
    t.turns AS turns,
    ft.failed_turns AS failed_turns,
    if(turns = 0, 0, failed_turns / turns) AS turn_error_rate,
    c.calls AS calls,
    c.failed_calls AS failed_calls,
    if(calls = 0, 0, failed_calls / calls) AS call_error_rate,
    f.failures AS failures,
    f.tool_errors AS tool_errors
FROM (
    SELECT countIf(IsRequest = 1) AS requests, countIf(IsError = 1) AS failed_requests
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime', 'tts')
        AND {{in_range}}
        AND {{service_language}}
        AND {{model}}
) AS r
CROSS JOIN (
    SELECT toUInt64(count()) AS recovered_requests FROM ({{recovered}}) WHERE Stage IN ('llm', 'realtime', 'tts')
) AS rec
CROSS JOIN (
    SELECT toUInt64((SELECT count() FROM lk_turns WHERE {{in_range}} AND {{service_language}} AND {{trace_used_model}})
        + (SELECT count() FROM lk_errors WHERE Kind = 'log' AND {{in_range}} AND {{service_language}} AND {{trace_used_model}}))
        AS turns
) AS t
CROSS JOIN (
    -- a turn failed when its agent_turn failed, when a step of it failed (LLM, TTS or realtime: the
    -- agent said nothing, though livekit-agents leaves the turn's status unset after a TTS failure), or
    -- when a realtime reply failed before any span existed
    SELECT toUInt64(uniqExact(TraceId, turn)) AS failed_turns
    FROM (
        SELECT TraceId, if(SpanName IN ('llm_node', 'tts_node', 'realtime_inference'), ParentSpanId, SpanId) AS turn
        FROM lk_errors
        WHERE Kind = 'span'
            AND SpanName IN ('agent_turn', 'assistant_turn', 'realtime_assistant_turn', 'llm_node', 'tts_node', 'realtime_inference')
            AND {{in_range}}
            AND {{service_language}}
            AND {{trace_used_model}}
        UNION ALL
        SELECT TraceId, concat(SpanId, toString(Timestamp)) AS turn
        FROM lk_errors
        WHERE Kind = 'log'
            AND {{in_range}}
            AND {{service_language}}
            AND {{trace_used_model}}
    )
) AS ft
CROSS JOIN (
    -- a call had a failure when anything in it failed: a request, a turn, the session, a realtime reply
    -- (retry attempts that a later attempt recovered and tool errors are not call failures)
    SELECT
        count() AS calls,
        countIf(TraceId IN (
            SELECT TraceId FROM lk_errors
            WHERE Kind IN ('span', 'log')
                AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
                AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY
        )) AS failed_calls
    FROM lk_calls
    WHERE {{in_range}}
        AND {{service_language}}
        AND {{trace_used_model}}
) AS c
CROSS JOIN (
    SELECT toUInt64(countIf(Kind = 'failure')) AS failures, toUInt64(countIf(Kind = 'tool_error')) AS tool_errors
    FROM ({{failures}})
) AS f
