-- The call list's search by words said (issue 12): a bloom filter over each 128-call granule's words,
-- so a search skips the calls that cannot hold all its words. Measured on 138,888 calls, 30 days
-- (docs/benchmarks.md): a word no call has 110-160 -> ~30 ms; a phrase on 80% of calls unchanged
-- (~150 ms: nearly every granule is read either way).
ALTER TABLE lk_call_records {{on_cluster}}
    ADD INDEX IF NOT EXISTS idx_words words TYPE bloom_filter(0.01) GRANULARITY 1;

ALTER TABLE lk_call_records {{on_cluster}} MATERIALIZE INDEX idx_words SETTINGS mutations_sync = 2;
