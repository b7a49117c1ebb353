-- panel: services_languages
-- Calls and spans per service.name x telemetry.sdk.language, with service and SDK versions.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String)
-- returns: service String, language String, service_version String, sdk_version String, calls UInt64, spans UInt64
SELECT
    ServiceName AS service,
    ResourceAttributes['telemetry.sdk.language'] AS language,
    ResourceAttributes['service.version'] AS service_version,
    ResourceAttributes['telemetry.sdk.version'] AS sdk_version,
    countIf(SpanName = 'agent_session') AS calls,
    count() AS spans
FROM otel_traces
WHERE Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR ResourceAttributes['telemetry.sdk.language'] IN {languages:Array(String)})
GROUP BY service, language, service_version, sdk_version
ORDER BY spans DESC, service
