-- Alerts: rules on a measure the dashboard computes (domain/alerts.py lists them), their firing and
-- resolving events, and each notification delivery attempt.

-- The rules made through the API (a rules file is read at start and not stored): the newest version of
-- a rule wins, Deleted = 1 removes it. Spec: the rule as JSON (domain/alerts.py Rule).
-- retention: none (configuration, kept until deleted)
CREATE TABLE IF NOT EXISTS lk_alert_rules {{on_cluster}} (
    RuleId String,
    Spec String CODEC(ZSTD(1)),
    Deleted UInt8,
    UpdatedAt DateTime64(3, 'UTC')
) ENGINE = {{replacing_engine}}(UpdatedAt)
ORDER BY RuleId;

-- What the rules did: one row per firing, resolving or test event, with the value that caused it.
-- retention: usage toDateTime(At)
CREATE TABLE IF NOT EXISTS lk_alert_events {{on_cluster}} (
    EventId String,
    RuleId String,
    RuleName String,
    At DateTime64(3, 'UTC'),
    State LowCardinality(String),
    Measure LowCardinality(String),
    Value Nullable(Float64),
    Threshold Float64,
    Summary String CODEC(ZSTD(1)),
    WindowStart DateTime64(3, 'UTC'),
    WindowEnd DateTime64(3, 'UTC')
) ENGINE = {{engine}}
ORDER BY (At, RuleId)
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;

-- Every delivery attempt of an event to a channel, with its outcome (the delivery log).
-- retention: usage toDateTime(At)
CREATE TABLE IF NOT EXISTS lk_alert_deliveries {{on_cluster}} (
    EventId String,
    RuleId String,
    Channel String,
    At DateTime64(3, 'UTC'),
    Attempt UInt8,
    Ok UInt8,
    Detail String CODEC(ZSTD(1))
) ENGINE = {{engine}}
ORDER BY (At, EventId)
SETTINGS index_granularity = 8192, non_replicated_deduplication_window = 1000;
