-- query: alert_states
-- Each rule's last transition (firing or resolved, test events aside), so a server that starts, or another replica, carries on where the rules were instead of firing again.
-- params: (none)
-- returns: rule_id String, state String, at_ms Int64, value Nullable(Float64)
SELECT
    RuleId AS rule_id,
    argMax(State, At) AS state,
    toUnixTimestamp64Milli(max(At)) AS at_ms,
    argMax(Value, At) AS value
FROM lk_alert_events
WHERE State IN ('firing', 'resolved')
GROUP BY RuleId
