-- Call recordings: the audio a worker uploaded with its session (POST /observability/recordings/v0),
-- kept as a file in the recordings folder (store/recordings.py); this row says which file, when the
-- audio starts (to align it with the call's timeline) and how long it is. A new upload of a call
-- replaces the row (newest UploadedAt wins; read with FINAL). Kept as long as the call's record (the usage
-- retention); the files go with them.
-- retention: usage toDateTime(StartedAt)
CREATE TABLE IF NOT EXISTS lk_recordings {{on_cluster}} (
    CallId String,
    RoomId String,
    StartedAt DateTime64(3, 'UTC'),
    DurationMs UInt64,
    Bytes UInt64,
    ContentType LowCardinality(String),
    File String,
    UploadedAt DateTime64(3, 'UTC')
) ENGINE = {{replacing_engine}}(UploadedAt)
ORDER BY CallId
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;
