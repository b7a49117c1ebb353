-- panel: model_distribution
-- Requests per model and stage (llm, realtime, tts, stt), one row per provider request: no double counting.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: stage String, provider String, model String, requests UInt64
SELECT
    Stage AS stage,
    Provider AS provider,
    Model AS model,
    countIf(IsRequest = 1) AS requests
FROM lk_requests
WHERE Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
    AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
GROUP BY stage, provider, model
ORDER BY requests DESC, stage, model
