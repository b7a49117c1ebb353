-- panel: services_languages
-- Calls and spans per service.name x telemetry.sdk.language, with service and SDK versions from the lk_span_minutes rollup: the range is widened to the whole minutes it touches.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), simulated String
-- returns: service String, language String, service_version String, sdk_version String, calls UInt64, spans UInt64
SELECT
    ServiceName AS service,
    Language AS language,
    ServiceVersion AS service_version,
    SdkVersion AS sdk_version,
    toUInt64(sum(Calls)) AS calls,
    toUInt64(sum(Spans)) AS spans
FROM lk_span_minutes
-- every minute the range touches (reading the partial minutes from the raw table would scan whole
-- days of otel_traces, whose sort key does not start with time)
WHERE Minute >= toStartOfMinute({start:DateTime64(9, 'UTC')})
    AND Minute < {end:DateTime64(9, 'UTC')}
    AND {{service_language}}
GROUP BY service, language, service_version, sdk_version
ORDER BY spans DESC, service
