-- fragment: recovered
-- Provider requests of [start, end) that succeeded after failed attempts, of the traces given: one row per
-- request (its span id, the first failed attempt's error, the number of failed attempts). Kind: recovered.
-- params: traces Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
SELECT
    min(a_ts) AS Timestamp, a_trace AS TraceId, a_parent AS SpanId, any(a_service) AS ServiceName,
    any(a_language) AS Language, any(a_simulated) AS Simulated, replaceOne(any(a_span), '_run', '') AS SpanName,
    any(a_stage) AS Stage, any(a_provider) AS Provider, any(a_model) AS Model, argMin(a_type, a_ts) AS ErrorType,
    concat(argMin(a_message, a_ts), if(count() > 1, concat(' (', toString(count()), ' failed attempts)'), ''))
        AS Message,
    toUInt64(sum(a_duration)) AS DurationNs, '' AS HttpMethod, '' AS HttpStatus, 'recovered' AS Kind
FROM (
    SELECT
        Timestamp AS a_ts, TraceId AS a_trace, ParentSpanId AS a_parent, ServiceName AS a_service,
        Language AS a_language, Simulated AS a_simulated, SpanName AS a_span, Stage AS a_stage,
        Provider AS a_provider, Model AS a_model,
        ErrorType AS a_type, Message AS a_message, DurationNs AS a_duration
    FROM lk_errors
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
        AND Kind = 'attempt'
        -- the request (their parent) did not fail; it started before its attempts
        AND (TraceId, ParentSpanId) NOT IN (
            SELECT TraceId, SpanId FROM lk_errors
            WHERE Kind = 'span'
                AND TraceId IN {traces:Array(String)}
                AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY AND Timestamp < {end:DateTime64(9, 'UTC')})
        AND {{service_language}}
        AND {{trace_used_model}}
)
GROUP BY a_trace, a_parent
