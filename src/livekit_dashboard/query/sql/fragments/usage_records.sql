-- fragment: usage_records
-- The usage records (one per call, posted or derived) of calls that started in [start, end], as settled
-- into lk_call_records (query/call_records.py), of the traffic asked for (simulated_calls). Use as a table.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), simulated String
(
    SELECT * FROM lk_call_records AS r FINAL
    WHERE started_at >= {start:DateTime64(9, 'UTC')} AND started_at <= {end:DateTime64(9, 'UTC')}
        AND {{simulated_calls}}
)
