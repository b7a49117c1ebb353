-- query: call_recording
-- A call's recording (the audio uploaded with its session), if any: its file, content type, size, length and when it starts.
-- params: call_id String
-- returns: file String, content_type String, bytes UInt64, duration_ms UInt64, started_ms Int64
SELECT File AS file, ContentType AS content_type, Bytes AS bytes, DurationMs AS duration_ms,
    toUnixTimestamp64Milli(StartedAt) AS started_ms
FROM lk_recordings FINAL
WHERE CallId = {call_id:String}
