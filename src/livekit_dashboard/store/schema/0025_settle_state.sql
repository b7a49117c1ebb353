-- How far settling has got: every touch (lk_call_touch) stamped at or before SettledTo is settled into the
-- call and error records. A settle round that settled something writes it once all its chunks are
-- written, and a restarted server resumes from the newest (query/call_records.py). Before, it resumed
-- from the newest call record's settled_at, which a round of many chunks writes with its first chunk:
-- a server stopped before the last chunk lost the others' touches older than the overlap (a migration's
-- or an import's, whose first round takes minutes). With several servers on one cluster, each settles
-- every touch, so the newest row of any of them is a point every touch before which is settled.
-- retention: none (one row per server and round; merged to the newest)
CREATE TABLE IF NOT EXISTS lk_settle_state {{on_cluster}} (
    SettledTo DateTime64(3, 'UTC'),
    WrittenAt DateTime64(3, 'UTC')
) ENGINE = {{replacing_engine}}(WrittenAt)
ORDER BY tuple();

-- a store settled before this migration resumes where it would have (its newest call record)
INSERT INTO lk_settle_state (SettledTo, WrittenAt)
SELECT max(settled_at) AS SettledTo, now64(3) AS WrittenAt FROM lk_call_records HAVING count() > 0;
