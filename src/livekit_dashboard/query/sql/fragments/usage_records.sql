-- fragment: usage_records
-- The usage records (one per call, posted or derived) of calls that started in [start, end], as settled
-- into lk_call_records (query/call_records.py). Use as a table.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
(
    SELECT * FROM lk_call_records FINAL
    WHERE started_at >= {start:DateTime64(9, 'UTC')} AND started_at <= {end:DateTime64(9, 'UTC')}
)
