-- panel: requests_over_time
-- LLM requests (pipeline llm_request and realtime_inference) per time bucket and service.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, requests UInt64, failed UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the rest from lk_requests; with a
    -- bucket width that is not whole hours, everything comes from lk_requests
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 3599999999999, 3600000000000) * 3600) AS first_hour,
    if({step_s:UInt32} % 3600 = 0, greatest(first_hour, toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600)), first_hour) AS last_hour
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
        AND Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    GROUP BY bucket, service
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        count() AS n,
        countIf(IsError = 1) AS f
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
            OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
                AND Timestamp < {end:DateTime64(9, 'UTC')}))
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    GROUP BY bucket, service
)
GROUP BY bucket, service
ORDER BY bucket, service
