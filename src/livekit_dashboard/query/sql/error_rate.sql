-- panel: error_rate
-- Failed share of provider requests (llm, realtime, tts), of agent turns, and of calls with a failure.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: requests UInt64, failed_requests UInt64, request_error_rate Float64, turns UInt64, failed_turns UInt64, turn_error_rate Float64, calls UInt64, failed_calls UInt64, call_error_rate Float64
WITH
    -- provider requests and turns: whole hours inside [start, end) from the hourly rollups, the edges raw
    {{hour_window}},
    if(empty({models:Array(String)}), last_hour, first_hour) AS turn_last_hour
SELECT
    r.requests AS requests,
    r.failed_requests AS failed_requests,
    if(requests = 0, 0, failed_requests / requests) AS request_error_rate,
    t.turns AS turns,
    t.failed_turns AS failed_turns,
    if(turns = 0, 0, failed_turns / turns) AS turn_error_rate,
    c.calls AS calls,
    c.failed_calls AS failed_calls,
    if(calls = 0, 0, failed_calls / calls) AS call_error_rate
FROM (
    SELECT toUInt64(sum(n)) AS requests, toUInt64(sum(f)) AS failed_requests
    FROM (
        SELECT sum(Requests) AS n, sum(Failed) AS f
        FROM lk_request_hours
        WHERE Stage IN ('llm', 'realtime', 'tts')
            AND {{rollup_hours}}
            AND {{service_language}}
            AND {{model}}
        UNION ALL
        SELECT count() AS n, countIf(IsError = 1) AS f
        FROM lk_requests
        WHERE Stage IN ('llm', 'realtime', 'tts')
            AND {{raw_edges}}
            AND {{service_language}}
            AND {{model}}
    )
) AS r
CROSS JOIN (
    -- agent turns: whole hours from lk_turn_hours, the edges from lk_turns (all of it from lk_turns
    -- with a model filter, which needs each turn's trace)
    SELECT toUInt64(sum(n)) AS turns, toUInt64(sum(f)) AS failed_turns
    FROM (
        SELECT sum(Turns) AS n, sum(Failed) AS f
        FROM lk_turn_hours
        WHERE Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(turn_last_hour, 'UTC')
            AND {{service_language}}
        UNION ALL
        SELECT count() AS n, countIf(IsError = 1) AS f
        FROM lk_turns
        WHERE ((Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
                OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(turn_last_hour, 9, 'UTC'))
                    AND Timestamp < {end:DateTime64(9, 'UTC')}))
            AND {{service_language}}
            AND {{trace_used_model}}
    )
) AS t
CROSS JOIN (
    -- a call failed when its session, a turn or a provider request failed; a failed attempt that a
    -- retry recovered (*_request_run) and a tool error are not call failures
    SELECT
        count() AS calls,
        countIf(IsError = 1 OR TraceId IN (
            SELECT TraceId FROM lk_errors
            WHERE ErrorType != 'tool_error' AND SpanName NOT IN ('llm_request_run', 'tts_request_run')
                AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
                AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY
        )) AS failed_calls
    FROM lk_calls
    WHERE {{in_range}}
    AND {{service_language}}
        AND {{trace_used_model}}
) AS c
