-- query: settle_state
-- How far settling has got (unix ms; 0 when nothing was settled yet): every touch stamped at or before it is settled (schema/0025_settle_state.sql). A restarted server resumes from there.
-- params: (none)
-- returns: ms Int64
SELECT toUnixTimestamp64Milli(max(SettledTo)) AS ms FROM lk_settle_state
