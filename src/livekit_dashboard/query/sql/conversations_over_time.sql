-- panel: conversations_over_time
-- Calls (agent_session spans) started per time bucket and service.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, calls UInt64
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service,
    count() AS calls
FROM lk_calls
WHERE {{in_range}}
    AND {{service_language}}
    AND {{trace_used_model}}
GROUP BY bucket, service
ORDER BY bucket, service
