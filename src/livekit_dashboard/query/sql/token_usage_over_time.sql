-- panel: token_usage_over_time
-- Input and output tokens of LLM and realtime requests per time bucket and service (per model with by_model=1), plus what livekit-agents counted but no span carries, at the end of its call.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, by_model UInt8, simulated String
-- returns: bucket UInt32, service String, model String, input_tokens UInt64, output_tokens UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the rest from lk_requests; with a
    -- bucket width that is not whole hours, everything comes from lk_requests
    {{hour_window_for_step}}
SELECT
    bucket,
    service,
    model,
    toUInt64(sum(i)) AS input_tokens,
    toUInt64(sum(o)) AS output_tokens
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        if({by_model:UInt8} = 1, Model, '') AS model,
        sum(InputTokens) AS i,
        sum(OutputTokens) AS o
    FROM lk_request_hours
    WHERE Stage IN ('llm', 'realtime')
        AND {{rollup_hours}}
        AND {{service_language}}
        AND {{model}}
    GROUP BY bucket, service, model
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        if({by_model:UInt8} = 1, Model, '') AS model,
        sum(InputTokens) AS i,
        sum(OutputTokens) AS o
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND {{raw_edges}}
        AND {{service_language}}
        AND {{model}}
    GROUP BY bucket, service, model
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        if({by_model:UInt8} = 1, Model, '') AS model,
        sum(InputTokens) AS i,
        sum(OutputTokens) AS o
    FROM ({{usage_adjustments}})
    GROUP BY bucket, service, model
)
GROUP BY bucket, service, model
ORDER BY bucket, service, model
