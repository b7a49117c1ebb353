-- query: log_entry
-- One log record by its id (<timestamp ns>-<content hash>), with every stored field.
-- params: timestamp_ns Int64, content_hash String
-- returns: log_id String, time_unix_nano Int64, service String, ... , log_attributes Map(String, String)
SELECT
    concat(toString(toUnixTimestamp64Nano(Timestamp)), '-', content_hash) AS log_id,
    toUnixTimestamp64Nano(Timestamp) AS time_unix_nano,
    ServiceName AS service,
    SeverityText AS severity_text,
    SeverityNumber AS severity_number,
    Body AS body,
    TraceId AS trace_id,
    SpanId AS span_id,
    TraceFlags AS trace_flags,
    EventName AS event_name,
    ScopeName AS scope_name,
    ScopeVersion AS scope_version,
    ScopeSchemaUrl AS scope_schema_url,
    ScopeAttributes AS scope_attributes,
    ResourceSchemaUrl AS resource_schema_url,
    ResourceAttributes AS resource_attributes,
    LogAttributes AS attributes,
    {{log_hash}}
        AS content_hash
FROM otel_logs
WHERE Timestamp = fromUnixTimestamp64Nano({timestamp_ns:Int64})
    -- the same second as TimestampTime (toDateTime(Timestamp)): the table's partition and primary key
    AND TimestampTime = toDateTime(intDiv({timestamp_ns:Int64}, 1000000000), 'UTC')
    AND content_hash = {content_hash:String}
LIMIT 1
