-- panel: turns_per_conversation
-- Average agent turns per call, over calls started in the range.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: calls UInt64, turns UInt64, avg_turns Float64
SELECT
    count() AS calls,
    sum(t.turns) AS turns,
    if(calls = 0, 0, turns / calls) AS avg_turns
FROM (
    SELECT TraceId FROM lk_calls
    WHERE Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR TraceId IN (
        SELECT TraceId FROM lk_requests
        WHERE Model IN {models:Array(String)}
            AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
            AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY))
) AS c
LEFT JOIN (
    SELECT TraceId, count() AS turns FROM lk_turns
    WHERE Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY
    GROUP BY TraceId
) AS t USING (TraceId)
