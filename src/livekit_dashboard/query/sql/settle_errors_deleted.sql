-- query: settle_errors_deleted
-- After settle_errors: delete the error records of these traces (stored in [start, end)) that it did not write again, because the trace no longer has them (a failure that got a failed child since, a recovered request that failed since): the newest version of such a record is older than this round's.
-- params: traces Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), settled_at DateTime64(3)
-- returns: nothing (deletions are inserted into lk_error_records)
INSERT INTO lk_error_records (
    Timestamp, TraceId, SpanId, Kind, ServiceName, Language, Simulated, SpanName, Stage, Provider, Model, ErrorType,
    Message, DurationNs, HttpMethod, HttpStatus, ErrorGroup, SettledAt, Deleted
)
SELECT
    Timestamp, TraceId, SpanId, Kind, ServiceName, Language, Simulated, SpanName, Stage, Provider, Model, ErrorType,
    Message, DurationNs, HttpMethod, HttpStatus, ErrorGroup,
    -- (named apart from the columns, which the WHERE reads)
    {settled_at:DateTime64(3)} AS DeletedAt, 1 AS IsDeletion
FROM lk_error_records FINAL
WHERE {{in_range}}
    AND TraceId IN {traces:Array(String)}
    AND SettledAt < {settled_at:DateTime64(3)}
