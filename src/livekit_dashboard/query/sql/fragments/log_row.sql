-- fragment: log_row
-- The columns of a log record wherever logs are listed (the logs panel, a trace's or a call's logs): its stable log id and what a row shows.
-- params: (none of its own; log_hash has none)
concat(
        toString(toUnixTimestamp64Nano(Timestamp)), '-',
        {{log_hash}}
    ) AS log_id,
    toUnixTimestamp64Nano(Timestamp) AS time_unix_nano,
    ServiceName AS service,
    SeverityText AS severity_text,
    SeverityNumber AS severity_number,
    Body AS body,
    TraceId AS trace_id,
    SpanId AS span_id,
    ScopeName AS scope_name
