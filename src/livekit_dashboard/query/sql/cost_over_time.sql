-- panel: cost_over_time
-- What the calls that started in each time bucket cost (USD, production usage), per stage (by=stage, the default), model (by=model: stage|provider|model) or service (by=service). A model filter keeps those models' cost.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String, step_s UInt32, by String
-- returns: bucket UInt32, series String, cost_usd Float64
SELECT
    toUnixTimestamp(toStartOfInterval(r.started_at, toIntervalSecond({step_s:UInt32}))) AS bucket,
    multiIf(
        {by:String} = 'model', k,
        {by:String} = 'service', r.service,
        splitByChar('|', k)[1]
    ) AS series,
    sum(c) AS cost_usd
FROM lk_call_records AS r FINAL
ARRAY JOIN r.line_keys AS k, r.line_cost_usd AS c, r.line_purpose AS p
WHERE {{calls_started}}
    AND p = 'call'
    AND {{line_in_models}}
GROUP BY bucket, series
ORDER BY bucket, series
