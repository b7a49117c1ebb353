-- The chat history a worker uploaded with its session (POST /observability/recordings/v0, part
-- `chat_history`: livekit-agents' ChatContext.to_dict() JSON, kept as sent). The call page merges it
-- with the framework's `chat item` log records (the same items, one transcript). A new upload of a
-- call replaces the row (newest UploadedAt wins; read with FINAL). Kept as long as the call's record.
-- retention: usage toDateTime(StartedAt)
CREATE TABLE IF NOT EXISTS lk_chat_histories {{on_cluster}} (
    CallId String,
    RoomId String,
    StartedAt DateTime64(3, 'UTC'),
    Items String CODEC(ZSTD(3)),
    UploadedAt DateTime64(3, 'UTC')
) ENGINE = {{replacing_engine}}(UploadedAt)
ORDER BY CallId
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;

-- Simulated calls (livekit-agents stamps `lk.simulation.enabled` on every span of a job LiveKit's
-- simulator dispatched): flagged on the call so production call lists, usage and cost leave them
-- out unless asked (`simulated=include|only`).
ALTER TABLE lk_call_records {{on_cluster}}
    ADD COLUMN IF NOT EXISTS simulated UInt8;
