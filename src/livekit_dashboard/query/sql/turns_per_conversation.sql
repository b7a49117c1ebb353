-- panel: turns_per_conversation
-- Average agent turns per call, over calls started in the range.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: calls UInt64, turns UInt64, avg_turns Float64
SELECT
    count() AS calls,
    sum(t.turns) AS turns,
    if(calls = 0, 0, turns / calls) AS avg_turns
FROM (
    SELECT TraceId FROM lk_calls
    WHERE {{in_range}}
    AND {{service_language}}
        AND {{trace_used_model}}
) AS c
LEFT JOIN (
    -- turns per call from the lk_call_turns rollup (a call's turns all fall on or after its start)
    SELECT TraceId, toUInt64(sum(Turns)) AS turns FROM lk_call_turns
    WHERE Day >= toDate({start:DateTime64(9, 'UTC')}) AND Day <= toDate({end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY)
    GROUP BY TraceId
) AS t USING (TraceId)
