-- Rollups: per-minute aggregates fed by materialized views, so panels over long ranges read a few
-- thousand rows instead of every span. services_languages reads only this table, over the whole
-- minutes its range touches (the raw table's sort key does not start with time, so exact edges would
-- scan whole days).

-- Spans and calls per minute x service x SDK language x service version x SDK version.
-- retention: traces Minute
CREATE TABLE IF NOT EXISTS lk_span_minutes {{on_cluster}} (
    Minute DateTime CODEC(Delta(4), ZSTD(1)),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    ServiceVersion LowCardinality(String),
    SdkVersion LowCardinality(String),
    Spans SimpleAggregateFunction(sum, UInt64),
    Calls SimpleAggregateFunction(sum, UInt64)
) ENGINE = {{aggregating_engine}}
PARTITION BY toDate(Minute)
ORDER BY (Minute, ServiceName, Language, ServiceVersion, SdkVersion)
SETTINGS ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_span_minutes_mv {{on_cluster}} TO lk_span_minutes AS
SELECT
    toStartOfMinute(Timestamp) AS Minute,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    ResourceAttributes['service.version'] AS ServiceVersion,
    ResourceAttributes['telemetry.sdk.version'] AS SdkVersion,
    count() AS Spans,
    countIf(SpanName = 'agent_session') AS Calls
FROM otel_traces
GROUP BY Minute, ServiceName, Language, ServiceVersion, SdkVersion;

-- spans stored before this migration (on a cluster, run it where the data is)
-- a crash during the backfill re-runs this file: start from empty, never add the rows twice
TRUNCATE TABLE IF EXISTS lk_span_minutes {{on_cluster}};
INSERT INTO lk_span_minutes (Minute, ServiceName, Language, ServiceVersion, SdkVersion, Spans, Calls)
SELECT
    toStartOfMinute(Timestamp) AS Minute,
    ServiceName,
    ResourceAttributes['telemetry.sdk.language'] AS Language,
    ResourceAttributes['service.version'] AS ServiceVersion,
    ResourceAttributes['telemetry.sdk.version'] AS SdkVersion,
    count() AS Spans,
    countIf(SpanName = 'agent_session') AS Calls
FROM otel_traces
GROUP BY Minute, ServiceName, Language, ServiceVersion, SdkVersion;
