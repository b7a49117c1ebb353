-- Provider requests per hour x service x language x stage x provider x model: counts and token sums
-- (AggregatingMergeTree, fed by a materialized view on lk_requests). Panels read whole hours here and
-- the partial hours at their range's edges from lk_requests (cheap: it is sorted by stage and time),
-- so their answers equal the raw-table SQL for any range.
-- retention: traces Hour
CREATE TABLE IF NOT EXISTS lk_request_hours {{on_cluster}} (
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    Stage LowCardinality(String),
    ServiceName LowCardinality(String),
    Language LowCardinality(String),
    Provider LowCardinality(String),
    Model LowCardinality(String),
    Requests SimpleAggregateFunction(sum, UInt64),
    Failed SimpleAggregateFunction(sum, UInt64),
    InputTokens SimpleAggregateFunction(sum, UInt64),
    OutputTokens SimpleAggregateFunction(sum, UInt64),
    CacheReadTokens SimpleAggregateFunction(sum, UInt64),
    CacheWriteTokens SimpleAggregateFunction(sum, UInt64),
    ReasoningTokens SimpleAggregateFunction(sum, UInt64),
    InputAudioTokens SimpleAggregateFunction(sum, UInt64),
    InputTextTokens SimpleAggregateFunction(sum, UInt64),
    OutputAudioTokens SimpleAggregateFunction(sum, UInt64),
    OutputTextTokens SimpleAggregateFunction(sum, UInt64)
) ENGINE = {{aggregating_engine}}
PARTITION BY toYYYYMM(Hour)
ORDER BY (Stage, Hour, ServiceName, Language, Provider, Model);

CREATE MATERIALIZED VIEW IF NOT EXISTS lk_request_hours_mv {{on_cluster}} TO lk_request_hours AS
SELECT
    toStartOfHour(Timestamp) AS Hour, Stage, ServiceName, Language, Provider, Model,
    count() AS Requests,
    countIf(IsError = 1) AS Failed,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(CacheReadTokens) AS CacheReadTokens,
    sum(CacheWriteTokens) AS CacheWriteTokens,
    sum(ReasoningTokens) AS ReasoningTokens,
    sum(InputAudioTokens) AS InputAudioTokens,
    sum(InputTextTokens) AS InputTextTokens,
    sum(OutputAudioTokens) AS OutputAudioTokens,
    sum(OutputTextTokens) AS OutputTextTokens
FROM lk_requests
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model;

-- requests stored before this migration (on a cluster, run it where the data is)
-- a crash during the backfill re-runs this file: start from empty, never add the rows twice
TRUNCATE TABLE IF EXISTS lk_request_hours {{on_cluster}};
INSERT INTO lk_request_hours (
    Hour, Stage, ServiceName, Language, Provider, Model, Requests, Failed, InputTokens, OutputTokens, CacheReadTokens,
    CacheWriteTokens, ReasoningTokens, InputAudioTokens, InputTextTokens, OutputAudioTokens, OutputTextTokens
)
SELECT
    toStartOfHour(Timestamp) AS Hour, Stage, ServiceName, Language, Provider, Model,
    count() AS Requests,
    countIf(IsError = 1) AS Failed,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(CacheReadTokens) AS CacheReadTokens,
    sum(CacheWriteTokens) AS CacheWriteTokens,
    sum(ReasoningTokens) AS ReasoningTokens,
    sum(InputAudioTokens) AS InputAudioTokens,
    sum(InputTextTokens) AS InputTextTokens,
    sum(OutputAudioTokens) AS OutputAudioTokens,
    sum(OutputTextTokens) AS OutputTextTokens
FROM lk_requests
GROUP BY Hour, Stage, ServiceName, Language, Provider, Model;
