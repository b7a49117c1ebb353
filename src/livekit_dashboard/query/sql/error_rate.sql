-- panel: error_rate
-- Failed requests (after retries) of all provider requests, recovered requests, failed turns of all turns, calls with a failure of all calls; the error records and groups count the same failures.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: requests UInt64, failed_requests UInt64, recovered_requests UInt64, request_error_rate Float64, turns UInt64, failed_turns UInt64, turn_error_rate Float64, calls UInt64, failed_calls UInt64, call_error_rate Float64, failures UInt64, tool_errors UInt64
WITH
    -- provider requests and turns: whole hours inside [start, end) from the hourly rollups, the edges raw
    {{hour_window}},
    if(empty({models:Array(String)}), last_hour, first_hour) AS turn_last_hour
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
    rec.failures AS failures,
    rec.tool_errors AS tool_errors
FROM (
    -- provider requests (llm, realtime, tts) and those that failed after all their attempts
    SELECT toUInt64(sum(n)) AS requests, toUInt64(sum(f)) AS failed_requests
    FROM (
        SELECT sum(Requests) AS n, sum(Failed) AS f
        FROM lk_request_hours
        WHERE Stage IN ('llm', 'realtime', 'tts')
            AND {{rollup_hours}}
            AND {{service_language}}
            AND {{model}}
        UNION ALL
        SELECT countIf(IsRequest = 1) AS n, countIf(IsError = 1) AS f
        FROM lk_requests
        WHERE Stage IN ('llm', 'realtime', 'tts')
            AND {{raw_edges}}
            AND {{service_language}}
            AND {{model}}
    )
) AS r
CROSS JOIN (
    SELECT toUInt64(countIf(Kind = 'recovered' AND Stage IN ('llm', 'realtime', 'tts'))) AS recovered_requests,
        toUInt64(countIf(Kind = 'failure')) AS failures, toUInt64(countIf(Kind = 'tool_error')) AS tool_errors
    FROM ({{error_records}})
) AS rec
CROSS JOIN (
    -- turns: agent replies, and realtime replies that failed before a span existed (lk_turn_hours holds
    -- both); whole hours from the rollup, the edges raw (all raw with a model filter, which needs each
    -- turn's trace)
    SELECT toUInt64(sum(n)) AS turns
    FROM (
        SELECT sum(Turns) AS n
        FROM lk_turn_hours
        WHERE Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(turn_last_hour, 'UTC')
            AND {{service_language}}
        UNION ALL
        SELECT count() AS n
        FROM lk_turns
        WHERE ((Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
                OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(turn_last_hour, 9, 'UTC'))
                    AND Timestamp < {end:DateTime64(9, 'UTC')}))
            AND {{service_language}}
            AND {{trace_used_model}}
        UNION ALL
        SELECT count() AS n
        FROM lk_errors
        WHERE Kind = 'log'
            AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
                OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(turn_last_hour, 9, 'UTC'))
                    AND Timestamp < {end:DateTime64(9, 'UTC')}))
            AND {{service_language}}
            AND {{trace_used_model}}
    )
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
    -- (each has a failure record: its root cause; retry attempts that a later attempt recovered and tool
    -- errors are not call failures)
    SELECT
        count() AS calls,
        countIf(TraceId IN (
            SELECT TraceId FROM lk_error_records FINAL
            WHERE Kind = 'failure'
                AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
                AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY
        )) AS failed_calls
    FROM lk_calls
    WHERE {{in_range}}
        AND {{service_language}}
        AND {{trace_used_model}}
) AS c
