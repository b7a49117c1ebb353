-- query: filter_values (the raw reference: every request from lk_requests)
-- The services, SDK languages and models (with the stages they served) seen in the range, for the dashboard's filter lists.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
-- returns: kind String, value String, stages Array(String), n UInt64
SELECT kind, value, arraySort(groupUniqArrayArray(stage)) AS stages, sum(n) AS n FROM (
    SELECT 'service' AS kind, ServiceName AS value, [] :: Array(String) AS stage, count() AS n FROM lk_requests
    WHERE {{in_range}}
    GROUP BY value
    UNION ALL
    SELECT 'service' AS kind, ServiceName AS value, [] :: Array(String) AS stage, count() AS n FROM lk_calls
    WHERE {{in_range}}
    GROUP BY value
    UNION ALL
    SELECT 'language' AS kind, Language AS value, [] :: Array(String) AS stage, count() AS n FROM lk_requests
    WHERE {{in_range}}
    GROUP BY value
    UNION ALL
    SELECT 'model' AS kind, Model AS value, groupUniqArray(Stage) AS stage, count() AS n FROM lk_requests
    WHERE {{in_range}}
    GROUP BY value
)
WHERE value != ''
GROUP BY kind, value
ORDER BY kind, n DESC, value
