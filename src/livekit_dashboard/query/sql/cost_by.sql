-- panel: cost_by
-- What each agent (by=agent, the default: agent name, else assistant id) or user (by=user) cost over the calls that started in the range, most expensive first: calls, cost (USD), per call, calls with unpriced usage. A model filter keeps the calls that used those models and those models' cost.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String, by String, limit UInt32, offset UInt32
-- returns: name String, calls UInt64, cost_usd Float64, cost_per_call_usd Float64, unpriced_calls UInt64
SELECT
    if({by:String} = 'user', r.user_email, if(r.agent_name != '', r.agent_name, r.assistant_id)) AS name,
    count() AS calls,
    sum({{call_cost}}) AS cost_usd,
    cost_usd / calls AS cost_per_call_usd,
    countIf(arrayExists(k -> {{line_in_models}}, r.unpriced_models)) AS unpriced_calls
FROM lk_call_records AS r FINAL
WHERE {{calls_started}}
GROUP BY name
ORDER BY cost_usd DESC, name
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
