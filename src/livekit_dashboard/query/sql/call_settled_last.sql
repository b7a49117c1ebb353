-- query: call_settled_last
-- When the newest call record was settled (unix ms; 0 when none): after a restart, settling resumes from there.
-- params: (none)
-- returns: ms Int64
SELECT toUnixTimestamp64Milli(max(settled_at)) AS ms FROM lk_call_records
