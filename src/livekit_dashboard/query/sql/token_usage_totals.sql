-- panel: token_usage_totals
-- Token sums of LLM and realtime requests in the range, plus what livekit-agents counted for calls ending in it but no span carries (unattributed_tokens); input includes cached, total = input + output.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: requests UInt64, input_tokens UInt64, output_tokens UInt64, total_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64, reasoning_tokens UInt64, input_audio_tokens UInt64, input_text_tokens UInt64, output_audio_tokens UInt64, output_text_tokens UInt64, unattributed_tokens UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the edges from lk_requests
    {{hour_window}}
SELECT
    toUInt64(sum(n)) AS requests,
    toUInt64(sum(InputTokens)) AS input_tokens,
    toUInt64(sum(OutputTokens)) AS output_tokens,
    input_tokens + output_tokens AS total_tokens,
    toUInt64(sum(CacheReadTokens)) AS cache_read_tokens,
    toUInt64(sum(CacheWriteTokens)) AS cache_write_tokens,
    toUInt64(sum(ReasoningTokens)) AS reasoning_tokens,
    toUInt64(sum(InputAudioTokens)) AS input_audio_tokens,
    toUInt64(sum(InputTextTokens)) AS input_text_tokens,
    toUInt64(sum(OutputAudioTokens)) AS output_audio_tokens,
    toUInt64(sum(OutputTextTokens)) AS output_text_tokens,
    toUInt64(sum(unattributed)) AS unattributed_tokens
FROM (
    SELECT 0 AS unattributed, sum(Requests) AS n, sum(InputTokens) AS InputTokens, sum(OutputTokens) AS OutputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(InputAudioTokens) AS InputAudioTokens, sum(InputTextTokens) AS InputTextTokens, sum(OutputAudioTokens) AS OutputAudioTokens, sum(OutputTextTokens) AS OutputTextTokens
    FROM lk_request_hours
    WHERE Stage IN ('llm', 'realtime')
        AND {{rollup_hours}}
        AND {{service_language}}
        AND {{model}}
    UNION ALL
    SELECT 0 AS unattributed, countIf(IsRequest = 1) AS n, sum(InputTokens) AS InputTokens, sum(OutputTokens) AS OutputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(InputAudioTokens) AS InputAudioTokens, sum(InputTextTokens) AS InputTextTokens, sum(OutputAudioTokens) AS OutputAudioTokens, sum(OutputTextTokens) AS OutputTextTokens
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND {{raw_edges}}
        AND {{service_language}}
        AND {{model}}
    UNION ALL
    SELECT sum(adjusted_tokens) AS unattributed, 0 AS n, sum(InputTokens) AS InputTokens, sum(OutputTokens) AS OutputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(InputAudioTokens) AS InputAudioTokens, sum(InputTextTokens) AS InputTextTokens, sum(OutputAudioTokens) AS OutputAudioTokens, sum(OutputTextTokens) AS OutputTextTokens
    FROM (SELECT *, InputTokens + OutputTokens AS adjusted_tokens FROM ({{usage_adjustments}}))
)
