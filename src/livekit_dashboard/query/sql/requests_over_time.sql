-- panel: requests_over_time
-- LLM requests (pipeline llm_request and realtime_inference) per time bucket and service.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, requests UInt64, failed UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the rest from lk_requests; with a
    -- bucket width that is not whole hours, everything comes from lk_requests
    {{hour_window_for_step}}
SELECT
    bucket,
    service,
    toUInt64(sum(n)) AS requests,
    toUInt64(sum(f)) AS failed
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        sum(Requests) AS n,
        sum(Failed) AS f
    FROM lk_request_hours
    WHERE Stage IN ('llm', 'realtime')
        AND {{rollup_hours}}
        AND {{service_language}}
        AND {{model}}
    GROUP BY bucket, service
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        countIf(IsRequest = 1) AS n,
        countIf(IsError = 1) AS f
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND {{raw_edges}}
        AND {{service_language}}
        AND {{model}}
    GROUP BY bucket, service
)
GROUP BY bucket, service
ORDER BY bucket, service
