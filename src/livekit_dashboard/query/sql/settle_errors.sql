-- query: settle_errors
-- Settle the error records of the traces given into lk_error_records (the error panels read them): failures (one per root cause), recovered requests and tool errors of [start, end), each with its error group and the provider and model of its stage (a record whose span names none, a failed agent_turn or a realtime reply that failed before any span existed, takes those of the call's requests of the same stage). settle_errors_deleted then deletes the records these traces no longer have.
-- params: traces Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String, settled_at DateTime64(3)
-- returns: nothing (rows are inserted into lk_error_records)
INSERT INTO lk_error_records (
    Timestamp, TraceId, SpanId, Kind, ServiceName, Language, Simulated, SpanName, Stage, Provider, Model, ErrorType,
    Message, DurationNs, HttpMethod, HttpStatus, ErrorGroup, SettledAt, Deleted
)
SELECT
    Timestamp, TraceId, SpanId, Kind, ServiceName, Language, Simulated, SpanName, Stage, Provider, Model, ErrorType,
    Message, DurationNs, HttpMethod, HttpStatus, {{error_group}} AS ErrorGroup,
    {settled_at:DateTime64(3)} AS SettledAt, 0 AS Deleted
FROM (
    SELECT
        e.Timestamp AS Timestamp, e.TraceId AS TraceId, e.SpanId AS SpanId, e.Kind AS Kind,
        e.ServiceName AS ServiceName, e.Language AS Language, e.Simulated AS Simulated, e.SpanName AS SpanName,
        e.Stage AS Stage, if(e.Provider = '', m.provider, e.Provider) AS Provider,
        if(e.Model = '', m.model, e.Model) AS Model, e.ErrorType AS ErrorType, e.Message AS Message,
        e.DurationNs AS DurationNs, e.HttpMethod AS HttpMethod, e.HttpStatus AS HttpStatus
    FROM (
        {{failures}}
        UNION ALL
        {{recovered}}
    ) AS e
    LEFT JOIN (
        SELECT TraceId, Stage, any(Provider) AS provider, any(Model) AS model
        FROM lk_requests
        WHERE Stage IN ('llm', 'realtime', 'tts', 'stt')
            AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
            AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY
            AND TraceId IN ({{provider_unnamed_traces}})
            -- only the hours those calls' spans cover (a request is a span of its call: its start lies in
            -- the trace's [first start, last start], otel_traces_trace_id_ts)
            AND toStartOfHour(Timestamp) IN (
                SELECT arrayJoin(arrayMap(h -> first + toIntervalHour(h), range(toUInt32(dateDiff('hour', first, last) + 1))))
                FROM (
                    SELECT toStartOfHour(min(Start)) AS first, toStartOfHour(max(End)) AS last
                    FROM otel_traces_trace_id_ts
                    WHERE TraceId IN ({{provider_unnamed_traces}})
                    GROUP BY TraceId))
        GROUP BY TraceId, Stage
    ) AS m ON m.TraceId = e.TraceId AND m.Stage = e.Stage
)
