-- query: filter_values
-- The services, SDK languages and models (with the stages they served) seen in the range, for the dashboard's filter lists; requests of whole hours come from lk_request_hours, of the edges from lk_requests.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
-- returns: kind String, value String, stages Array(String), n UInt64
WITH {{hour_window}}
SELECT kind, value, arraySort(groupUniqArrayArray(stage)) AS stages, sum(n) AS n FROM (
    SELECT kind, value, if(kind = 'model', groupUniqArray(Stage), []) AS stage, sum(requests) AS n
    FROM (
        SELECT ServiceName, Language, Model, Stage, sum(Requests) AS requests
        FROM lk_request_hours
        WHERE {{rollup_hours}}
        GROUP BY ServiceName, Language, Model, Stage
        UNION ALL
        SELECT ServiceName, Language, Model, Stage, count() AS requests
        FROM lk_requests
        WHERE {{raw_edges}}
        GROUP BY ServiceName, Language, Model, Stage
    )
    ARRAY JOIN ['service', 'language', 'model'] AS kind, [ServiceName, Language, Model] AS value
    GROUP BY kind, value
    UNION ALL
    SELECT 'service' AS kind, ServiceName AS value, [] :: Array(String) AS stage, count() AS n FROM lk_calls
    WHERE {{in_range}}
    GROUP BY value
)
WHERE value != ''
GROUP BY kind, value
ORDER BY kind, n DESC, value
