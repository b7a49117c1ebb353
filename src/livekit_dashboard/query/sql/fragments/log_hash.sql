-- fragment: log_hash
-- The content half of a log id (docs/api.md "Log ids"): 16 hex characters of a hash of the fields
-- that tell apart records sharing a timestamp. Every query deriving or matching log ids uses this.
-- params: (none)
leftPad(lower(hex(cityHash64(ServiceName, TraceId, SpanId, SeverityNumber, Body, toString(LogAttributes)))), 16, '0')
