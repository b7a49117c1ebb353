-- Exactly once: every table the ingest writer fills, and every table a materialized view fills from
-- them, keeps a deduplication window. The writer inserts each batch under a token named after its
-- write-ahead-log frames and inserts a failed or crash-interrupted batch again under the same token,
-- so ClickHouse skips the blocks that had already landed, in the raw table and in each view's target,
-- and writes only the missing ones (deduplicate_blocks_in_dependent_materialized_views, on by
-- default). The window counts blocks per table; a retry only ever repeats the latest batch.
ALTER TABLE otel_traces {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_traces_trace_id_ts {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_logs {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_metrics_gauge {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_metrics_sum {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_metrics_histogram {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_metrics_exponential_histogram {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_metrics_summary {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_requests {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_turns {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_calls {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_errors {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_call_usage {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_call_usage_metrics {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_usage_posted {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_span_minutes {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_request_hours {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_turn_hours {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_request_latency_hours {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE lk_call_turns {{on_cluster}} MODIFY SETTING non_replicated_deduplication_window = 1000;

-- Per-call usage rows from provider requests carry their last time too, so the span retention can
-- expire them (lk_call_usage's TTL counts from LastSeen).
DROP VIEW IF EXISTS lk_call_usage_requests_mv {{on_cluster}};
CREATE MATERIALIZED VIEW IF NOT EXISTS lk_call_usage_requests_mv {{on_cluster}} TO lk_call_usage AS
SELECT
    TraceId,
    max(toNullable(Timestamp)) AS LastSeen,
    groupUniqArray(concat(Stage, '|', Provider, '|', Model)) AS Models,
    countIf(Stage IN ('llm', 'realtime')) AS Requests,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    sum(InputAudioTokens) AS InputAudioTokens,
    sum(InputTextTokens) AS InputTextTokens,
    sum(CachedAudioTokens) AS CachedAudioTokens,
    sum(CachedTextTokens) AS CachedTextTokens,
    sum(OutputAudioTokens) AS OutputAudioTokens,
    sum(OutputTextTokens) AS OutputTextTokens,
    sum(CacheWriteTokens) AS CacheWriteTokens,
    sum(ReasoningTokens) AS ReasoningTokens,
    sum(TtsCharacters) AS TtsCharacters,
    sum(TtsAudioS) AS TtsAudioS
FROM lk_requests
GROUP BY TraceId;
