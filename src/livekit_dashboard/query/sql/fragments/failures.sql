-- fragment: failures
-- The failure records of [start, end), one per root cause: an ERROR span none of whose children failed
-- (its failing ancestors are its path, not more failures; retry attempts belong to their request), a
-- realtime reply that failed before any span existed (an ERROR log), and a tool that returned an error,
-- of the traces given (settling: settle_errors writes them to lk_error_records, which the panels read).
-- Kind: failure | tool_error. Filters: service, SDK language, calls that used a model.
-- params: traces Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
SELECT
    Timestamp, TraceId, SpanId, ServiceName, Language, Simulated, SpanName, Stage, Provider, Model, ErrorType,
    Message, DurationNs, HttpMethod, HttpStatus, if(RecordKind = 'tool', 'tool_error', 'failure') AS Kind
FROM (
    SELECT *, Kind AS RecordKind
    FROM lk_errors
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
        AND Kind IN ('span', 'log', 'tool')
        -- children start after their parent: a day past the range finds them all
        AND (Kind != 'span' OR (TraceId, SpanId) NOT IN (
            SELECT TraceId, ParentSpanId FROM lk_errors
            WHERE Kind = 'span'
                AND TraceId IN {traces:Array(String)}
                AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY))
        AND {{service_language}}
        AND {{trace_used_model}}
)
