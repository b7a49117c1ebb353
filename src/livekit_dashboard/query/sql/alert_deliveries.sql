-- query: alert_deliveries
-- The delivery log, newest first: every attempt to deliver an event (of one event, or all) to a channel.
-- params: event_id String, limit UInt32
-- returns: event_id String, rule_id String, channel String, at_ms Int64, attempt UInt8, ok UInt8, detail String
SELECT
    EventId AS event_id, RuleId AS rule_id, Channel AS channel, toUnixTimestamp64Milli(At) AS at_ms,
    Attempt AS attempt, Ok AS ok, Detail AS detail
FROM lk_alert_deliveries
WHERE {event_id:String} = '' OR EventId = {event_id:String}
ORDER BY At DESC, Attempt DESC
LIMIT {limit:UInt32}
