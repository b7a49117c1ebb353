-- query: call_line_keys_all
-- Every model (stage|provider|model) the settled calls have usage of.
-- params: (none)
-- returns: key String
SELECT DISTINCT arrayJoin(line_keys) AS key FROM lk_call_records
