-- API keys: only a SHA-256 of each key is stored. Every change (create, revoke, last use) writes a
-- new version of the row; the newest version wins.
-- retention: none (keys are kept until revoked and deleted by hand)
CREATE TABLE IF NOT EXISTS livekit_dashboard_api_keys {{on_cluster}} (
    KeyId String,
    Version UInt64,
    Name String,
    Role LowCardinality(String),
    SecretHash String,
    CreatedAt DateTime64(3),
    LastUsedAt Nullable(DateTime64(3)),
    RevokedAt Nullable(DateTime64(3))
) ENGINE = {{replacing_engine}}(Version)
ORDER BY KeyId
SETTINGS index_granularity = 8192;

-- A write probe: /healthz writes a row here after ingest has seen a storage error, to learn whether
-- storage takes writes again.
-- retention: none (its own one-day TTL)
CREATE TABLE IF NOT EXISTS livekit_dashboard_health {{on_cluster}} (
    At DateTime64(3)
) ENGINE = {{engine}}
ORDER BY At
TTL toDateTime(At) + toIntervalDay(1);
