-- query: call_record
-- The settled record of the call whose trace this is (a call found by its call id reads call_rows.sql, by primary key).
-- params: trace_id String
-- returns: call_id String, trace_id String, ... (the call_rows columns)
SELECT {{call_columns}}
FROM lk_call_records AS r FINAL
WHERE r.trace_id = {trace_id:String}
ORDER BY r.started_at DESC
LIMIT 1
