-- query: call_record
-- One call's settled record, found by its call id (job id, or room name) or its trace id.
-- params: id String
-- returns: call_id String, trace_id String, ... (the call_list columns, without total)
SELECT {{call_columns}}
FROM lk_call_records AS r FINAL
WHERE r.call_id = {id:String} OR r.trace_id = lower({id:String})
ORDER BY r.started_at DESC
LIMIT 1
