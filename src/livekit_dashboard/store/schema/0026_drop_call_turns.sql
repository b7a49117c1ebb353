-- Turns per call and day (lk_call_turns, 0009) were read by the per-call panels until they moved to the
-- settled call records (0012, 0024); nothing has read them since. Its two views still ran on every
-- insert into lk_turns and lk_errors and wrote a part per insert: ingest CPU, merges and disk for
-- nothing. The call records carry each call's turns and failed turns.
DROP VIEW IF EXISTS lk_call_turns_mv {{on_cluster}};
DROP VIEW IF EXISTS lk_call_turns_errors_mv {{on_cluster}};
DROP TABLE IF EXISTS lk_call_turns {{on_cluster}};
