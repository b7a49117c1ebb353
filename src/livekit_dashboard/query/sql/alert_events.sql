-- query: alert_events
-- Alert history, newest first: every firing, resolving and test event (of one rule, or of all), with how many of its deliveries succeeded and failed.
-- params: rule_id String, limit UInt32
-- returns: event_id String, rule_id String, rule_name String, at_ms Int64, state String, measure String, value Nullable(Float64), threshold Float64, summary String, window_start_ms Int64, window_end_ms Int64, delivered UInt64, failed UInt64
SELECT
    e.EventId AS event_id, e.RuleId AS rule_id, e.RuleName AS rule_name, toUnixTimestamp64Milli(e.At) AS at_ms,
    e.State AS state, e.Measure AS measure, e.Value AS value, e.Threshold AS threshold, e.Summary AS summary,
    toUnixTimestamp64Milli(e.WindowStart) AS window_start_ms, toUnixTimestamp64Milli(e.WindowEnd) AS window_end_ms,
    ifNull(d.delivered, 0) AS delivered, ifNull(d.failed, 0) AS failed
FROM lk_alert_events AS e
LEFT JOIN (
    -- a channel's delivery counts once: delivered if any attempt succeeded
    SELECT EventId, countIf(ok = 1) AS delivered, countIf(ok = 0) AS failed
    FROM (SELECT EventId, Channel, max(Ok) AS ok FROM lk_alert_deliveries GROUP BY EventId, Channel)
    GROUP BY EventId
) AS d ON d.EventId = e.EventId
WHERE {rule_id:String} = '' OR e.RuleId = {rule_id:String}
ORDER BY e.At DESC, e.EventId
LIMIT {limit:UInt32}
