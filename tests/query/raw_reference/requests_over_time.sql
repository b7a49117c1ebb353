-- panel: requests_over_time
-- LLM requests (pipeline llm_request and realtime_inference) per time bucket and service.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, requests UInt64, failed UInt64
SELECT
    toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service,
    countIf(IsRequest = 1) AS requests,
    countIf(IsError = 1) AS failed
FROM lk_requests
WHERE Stage IN ('llm', 'realtime')
    AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
    AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
GROUP BY bucket, service
ORDER BY bucket, service
