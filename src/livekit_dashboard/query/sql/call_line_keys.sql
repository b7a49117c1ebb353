-- query: call_line_keys
-- The models (stage|provider|model) the calls settled at settled_ms have usage of, so prices are resolved for any new one.
-- params: settled_ms Int64
-- returns: key String
SELECT DISTINCT arrayJoin(line_keys) AS key
FROM lk_call_records
WHERE toUnixTimestamp64Milli(settled_at) = {settled_ms:Int64}
