-- query: alert_delivery_write
-- Log one attempt to deliver an event to a channel (its label: no secrets), and how it went.
-- params: event_id String, rule_id String, channel String, attempt UInt8, ok UInt8, detail String
-- returns: nothing
INSERT INTO lk_alert_deliveries (EventId, RuleId, Channel, At, Attempt, Ok, Detail)
VALUES ({event_id:String}, {rule_id:String}, {channel:String}, now64(3), {attempt:UInt8}, {ok:UInt8}, {detail:String})
