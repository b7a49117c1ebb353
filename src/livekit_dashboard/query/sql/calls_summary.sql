-- query: calls_summary
-- Calls that started in the range: count, total and average duration, distinct users and assistants, cost (USD) and calls with unpriced usage.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), user_email String, assistant_id String, simulated String
-- returns: total_calls UInt64, total_duration_minutes Float64, avg_duration_seconds Float64, active_users UInt64, active_assistants UInt64, total_turns UInt64, total_errors UInt64, total_cost_usd Float64, unpriced_calls UInt64
SELECT
    count() AS total_calls,
    sum(call_duration_s) / 60 AS total_duration_minutes,
    if(total_calls = 0, 0, avg(call_duration_s)) AS avg_duration_seconds,
    uniqExactIf(user_email, user_email != '') AS active_users,
    uniqExactIf(assistant_id, assistant_id != '') AS active_assistants,
    sum(turns) AS total_turns,
    sum(errors) AS total_errors,
    sum(cost_usd) AS total_cost_usd,
    countIf(notEmpty(unpriced_models)) AS unpriced_calls
FROM {{usage_records}}
WHERE started_at >= {start:DateTime64(9, 'UTC')} AND started_at <= {end:DateTime64(9, 'UTC')}
    AND ({user_email:String} = '' OR user_email = {user_email:String})
    AND ({assistant_id:String} = '' OR assistant_id = {assistant_id:String})
