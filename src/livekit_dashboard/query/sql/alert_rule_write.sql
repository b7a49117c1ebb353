-- query: alert_rule_write
-- Store a rule made through the API (replacing its earlier version), or (deleted = 1) remove it.
-- params: rule_id String, spec String, deleted UInt8
-- returns: nothing
INSERT INTO lk_alert_rules (RuleId, Spec, Deleted, UpdatedAt)
VALUES ({rule_id:String}, {spec:String}, {deleted:UInt8}, now64(3))
