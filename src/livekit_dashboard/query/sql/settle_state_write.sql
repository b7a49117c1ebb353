-- query: settle_state_write
-- Record that every touch stamped at or before settled_ms is settled (at the end of a settle round).
-- params: settled_ms Int64
-- returns: nothing
INSERT INTO lk_settle_state (SettledTo, WrittenAt) VALUES (fromUnixTimestamp64Milli({settled_ms:Int64}, 'UTC'), now64(3))
