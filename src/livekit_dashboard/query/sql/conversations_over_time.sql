-- panel: conversations_over_time
-- Calls (agent_session spans) started per time bucket and service.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, calls UInt64
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service,
    count() AS calls
FROM lk_calls
WHERE Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
    AND (empty({models:Array(String)}) OR TraceId IN (
        SELECT TraceId FROM lk_requests
        WHERE Model IN {models:Array(String)}
            AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
            AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY))
GROUP BY bucket, service
ORDER BY bucket, service
