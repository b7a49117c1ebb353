-- query: alert_calls
-- An alert's call measures over its window: the settled calls that started in it (the call list's calls: calls_started, of the agent (name or assistant id) and user asked for), those with a failure, what they cost (as cost_totals counts it), and how many have an outcome and how many of those failed.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String, agent String, user String
-- returns: calls UInt64, failed_calls UInt64, cost_usd Float64, outcomes UInt64, failed_outcomes UInt64
SELECT
    count() AS calls,
    countIf(r.failures > 0) AS failed_calls,
    sum({{call_cost}}) AS cost_usd,
    countIf(r.outcome != '') AS outcomes,
    countIf(r.outcome = 'fail') AS failed_outcomes
FROM lk_call_records AS r FINAL
WHERE {{calls_started}}
    AND ({agent:String} = '' OR r.agent_name = {agent:String} OR r.assistant_id = {agent:String})
    AND ({user:String} = '' OR r.user_email = {user:String})
