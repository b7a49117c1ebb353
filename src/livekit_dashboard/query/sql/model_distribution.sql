-- panel: model_distribution
-- Requests per model and stage (llm, realtime, tts, stt), one row per provider request: no double counting.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: stage String, provider String, model String, requests UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the edges from lk_requests
    {{hour_window}}
SELECT
    stage,
    provider,
    model,
    toUInt64(sum(n)) AS requests
FROM (
    SELECT Stage AS stage, Provider AS provider, Model AS model, sum(Requests) AS n
    FROM lk_request_hours
    WHERE 1
        AND {{rollup_hours}}
        AND {{service_language}}
        AND {{model}}
    GROUP BY stage, provider, model
    UNION ALL
    SELECT Stage AS stage, Provider AS provider, Model AS model, countIf(IsRequest = 1) AS n
    FROM lk_requests
    WHERE 1
        AND {{raw_edges}}
        AND {{service_language}}
        AND {{model}}
    GROUP BY stage, provider, model
)
GROUP BY stage, provider, model
ORDER BY requests DESC, stage, model
