-- query: alert_rules
-- The alert rules made through the API (the newest version of each; deleted ones left out), as JSON.
-- params: (none)
-- returns: rule_id String, spec String
SELECT RuleId AS rule_id, Spec AS spec
FROM lk_alert_rules FINAL
WHERE Deleted = 0
ORDER BY rule_id
