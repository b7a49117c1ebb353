-- Where the hourly rollups are whole (docs/panels.md). The rollups (lk_*_hours) expire hour by hour
-- (TTL Hour + the trace retention), while a raw table drops a day's part only once its last row has
-- expired: for up to a day the raw rows hold hours the rollups no longer do. A panel reads the hours
-- before lkd_rollup_from() raw (fragments/hour_window.sql), so its answer stays the raw tables' answer.
-- Storage.apply_retention sets it to now less the trace retention at every start; until then (and
-- with traces kept forever) every hour is whole.
CREATE OR REPLACE FUNCTION lkd_rollup_from {{on_cluster}} AS () -> toDateTime64(0, 9, 'UTC');
