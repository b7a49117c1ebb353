-- panel: services_languages
-- Calls and spans per service.name x telemetry.sdk.language, with service and SDK versions (whole minutes from the lk_span_minutes rollup, the partial minutes at the range's edges from otel_traces).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String)
-- returns: service String, language String, service_version String, sdk_version String, calls UInt64, spans UInt64
WITH
    -- whole minutes inside [start, end): [first_minute, last_minute)
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 59999999999, 60000000000) * 60) AS first_minute,
    greatest(first_minute, toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 60000000000) * 60)) AS last_minute
SELECT
    service,
    language,
    service_version,
    sdk_version,
    toUInt64(sum(n_calls)) AS calls,
    toUInt64(sum(n_spans)) AS spans
FROM (
    SELECT
        ServiceName AS service,
        Language AS language,
        ServiceVersion AS service_version,
        SdkVersion AS sdk_version,
        sum(Calls) AS n_calls,
        sum(Spans) AS n_spans
    FROM lk_span_minutes
    WHERE Minute >= toDateTime(first_minute, 'UTC') AND Minute < toDateTime(last_minute, 'UTC')
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
    GROUP BY service, language, service_version, sdk_version
    UNION ALL
    SELECT
        ServiceName AS service,
        ResourceAttributes['telemetry.sdk.language'] AS language,
        ResourceAttributes['service.version'] AS service_version,
        ResourceAttributes['telemetry.sdk.version'] AS sdk_version,
        countIf(SpanName = 'agent_session') AS n_calls,
        count() AS n_spans
    FROM otel_traces
    WHERE ((Timestamp >= {start:DateTime64(9, 'UTC')}
                AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_minute, 9, 'UTC')))
            OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_minute, 9, 'UTC'))
                AND Timestamp < {end:DateTime64(9, 'UTC')}))
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR ResourceAttributes['telemetry.sdk.language'] IN {languages:Array(String)})
    GROUP BY service, language, service_version, sdk_version
)
GROUP BY service, language, service_version, sdk_version
ORDER BY spans DESC, service
