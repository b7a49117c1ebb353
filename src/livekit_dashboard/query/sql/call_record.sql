-- query: call_record
-- One call's settled record with its cost lines, for the call page: by call id (the primary key) or, when call_id is empty, the newest whose trace this is.
-- params: call_id String, trace_id String
-- returns: call_id String, trace_id String, ... (the call_rows columns), line_keys Array(String), line_purpose Array(String), line_usage Array(Array(Float64)), line_cost_usd Array(Float64), line_priced Array(UInt8), line_source Array(String)
SELECT {{call_columns}}, {{call_lines}}
FROM lk_call_records AS r FINAL
WHERE if({call_id:String} != '', r.call_id = {call_id:String}, r.trace_id = {trace_id:String})
ORDER BY r.started_at DESC
LIMIT 1
