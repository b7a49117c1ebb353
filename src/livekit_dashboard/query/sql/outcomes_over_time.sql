-- panel: outcomes_over_time
-- Per time bucket and agent (agent name, else assistant id), over the calls that started in it: how many the agent's tagger gave an outcome, how many of those succeeded (success_rate), and the LLM judges' verdicts: how many, how many passed (pass_rate). Calls without an outcome are counted in calls only. From the framework's evaluations records (LIVEKIT_OBSERVABILITY_URL).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String, step_s UInt32
-- returns: bucket UInt32, agent String, calls UInt64, outcomes UInt64, successes UInt64, success_rate Nullable(Float64), verdicts UInt64, passes UInt64, pass_rate Nullable(Float64)
SELECT
    toUnixTimestamp(toStartOfInterval(r.started_at, toIntervalSecond({step_s:UInt32}))) AS bucket,
    if(r.agent_name != '', r.agent_name, r.assistant_id) AS agent,
    count() AS calls,
    countIf(r.outcome != '') AS outcomes,
    countIf(r.outcome = 'success') AS successes,
    if(outcomes = 0, NULL, successes / outcomes) AS success_rate,
    sum(length(r.evaluations)) AS verdicts,
    sum(arrayCount(e -> endsWith(e, ':pass'), r.evaluations)) AS passes,
    if(verdicts = 0, NULL, passes / verdicts) AS pass_rate
FROM lk_call_records AS r FINAL
WHERE {{calls_started}}
GROUP BY bucket, agent
HAVING outcomes + verdicts > 0
ORDER BY bucket, agent
