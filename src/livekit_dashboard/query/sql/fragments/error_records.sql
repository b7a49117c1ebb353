-- fragment: error_records
-- The settled error records of [start, end) (lk_error_records, written when their trace settles:
-- failures, recovered requests, tool errors), of the services, SDK languages and traffic asked for, in
-- calls that used one of the models (empty: any).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
SELECT
    Timestamp, TraceId, SpanId, Kind, ServiceName, SpanName, Stage, Provider, Model, ErrorType, Message, DurationNs,
    HttpMethod, HttpStatus, ErrorGroup
FROM lk_error_records FINAL
WHERE {{in_range}}
    AND {{service_language}}
    AND {{trace_used_model}}
