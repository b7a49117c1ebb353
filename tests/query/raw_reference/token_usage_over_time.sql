-- panel: token_usage_over_time
-- Input and output tokens of LLM and realtime requests per time bucket and service (per model with by_model=1).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, by_model UInt8
-- returns: bucket UInt32, service String, model String, input_tokens UInt64, output_tokens UInt64
SELECT bucket, service, model, toUInt64(sum(i)) AS input_tokens, toUInt64(sum(o)) AS output_tokens
FROM (
    SELECT Timestamp, ServiceName, Model, InputTokens AS i, OutputTokens AS o
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    UNION ALL
    SELECT Timestamp, ServiceName, Model, InputTokens, OutputTokens FROM ({{usage_adjustments}})
)
GROUP BY toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
    ServiceName AS service, if({by_model:UInt8} = 1, Model, '') AS model
ORDER BY bucket, service, model
