-- panel: model_distribution
-- Requests per model and stage (llm, realtime, tts, stt), one row per provider request: no double counting.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: stage String, provider String, model String, requests UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the edges from lk_requests
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 3599999999999, 3600000000000) * 3600) AS first_hour,
    greatest(first_hour, toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600)) AS last_hour
SELECT
    stage,
    provider,
    model,
    toUInt64(sum(n)) AS requests
FROM (
    SELECT Stage AS stage, Provider AS provider, Model AS model, sum(Requests) AS n
    FROM lk_request_hours
    WHERE 1
        AND Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    GROUP BY stage, provider, model
    UNION ALL
    SELECT Stage AS stage, Provider AS provider, Model AS model, count() AS n
    FROM lk_requests
    WHERE 1
        AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
            OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
                AND Timestamp < {end:DateTime64(9, 'UTC')}))
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    GROUP BY stage, provider, model
)
GROUP BY stage, provider, model
ORDER BY requests DESC, stage, model
