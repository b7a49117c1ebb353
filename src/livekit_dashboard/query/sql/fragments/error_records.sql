-- fragment: error_records
-- The settled error records of [start, end) (lk_error_records, written when their trace settles:
-- failures, recovered requests, tool errors), and the failure logs that carry no trace, of the services,
-- SDK languages and traffic asked for, in calls that used one of the models (empty: any).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
SELECT
    Timestamp, TraceId, SpanId, Kind, ServiceName, SpanName, Stage, Provider, Model, ErrorType, Message, DurationNs,
    HttpMethod, HttpStatus, ErrorGroup
FROM lk_error_records FINAL
WHERE {{in_range}}
    AND {{service_language}}
    AND {{trace_used_model}}
UNION ALL
-- an ERROR log of a failed realtime reply sent with no trace context settles with no trace: it is a
-- failure on its own (as fragments/failures.sql says), classified here
-- (the filter reads the rows before Kind is renamed)
SELECT
    Timestamp, TraceId, SpanId, 'failure' AS Kind, ServiceName, SpanName, Stage, Provider, Model, ErrorType, Message,
    DurationNs, HttpMethod, HttpStatus, {{error_group}} AS ErrorGroup
FROM (
    SELECT * FROM lk_errors
    WHERE {{in_range}}
        AND TraceId = ''
        AND Kind = 'log'
        AND {{service_language}}
        AND {{trace_used_model}}
)
