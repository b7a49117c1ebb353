-- query: alert_event_write
-- Record what a rule did: fired, resolved, or was test-fired, with the value and window behind it.
-- params: event_id String, rule_id String, rule_name String, at_ms Int64, state String, measure String, value Nullable(Float64), threshold Float64, summary String, window_start_ms Int64, window_end_ms Int64
-- returns: nothing
INSERT INTO lk_alert_events (EventId, RuleId, RuleName, At, State, Measure, Value, Threshold, Summary, WindowStart, WindowEnd)
VALUES (
    {event_id:String}, {rule_id:String}, {rule_name:String}, fromUnixTimestamp64Milli({at_ms:Int64}, 'UTC'),
    {state:String}, {measure:String}, {value:Nullable(Float64)}, {threshold:Float64}, {summary:String},
    fromUnixTimestamp64Milli({window_start_ms:Int64}, 'UTC'), fromUnixTimestamp64Milli({window_end_ms:Int64}, 'UTC')
)
