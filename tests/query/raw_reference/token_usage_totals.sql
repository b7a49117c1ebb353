-- panel: token_usage_totals
-- Token sums of LLM and realtime requests in the range; input includes cached, total = input + output.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: requests UInt64, input_tokens UInt64, output_tokens UInt64, total_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64, reasoning_tokens UInt64, input_audio_tokens UInt64, input_text_tokens UInt64, output_audio_tokens UInt64, output_text_tokens UInt64, unattributed_tokens UInt64
SELECT
    toUInt64(sum(n)) AS requests,
    toUInt64(sum(i)) AS input_tokens,
    toUInt64(sum(o)) AS output_tokens,
    input_tokens + output_tokens AS total_tokens,
    toUInt64(sum(cr)) AS cache_read_tokens,
    toUInt64(sum(cw)) AS cache_write_tokens,
    toUInt64(sum(re)) AS reasoning_tokens,
    toUInt64(sum(ia)) AS input_audio_tokens,
    toUInt64(sum(it)) AS input_text_tokens,
    toUInt64(sum(oa)) AS output_audio_tokens,
    toUInt64(sum(ot)) AS output_text_tokens,
    toUInt64(sum(u)) AS unattributed_tokens
FROM (
    SELECT
        IsRequest AS n, InputTokens AS i, OutputTokens AS o, CacheReadTokens AS cr, CacheWriteTokens AS cw,
        ReasoningTokens AS re, InputAudioTokens AS ia, InputTextTokens AS it, OutputAudioTokens AS oa,
        OutputTextTokens AS ot, 0 AS u
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    UNION ALL
    SELECT
        0, InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens, ReasoningTokens, InputAudioTokens,
        InputTextTokens, OutputAudioTokens, OutputTextTokens, InputTokens + OutputTokens
    FROM ({{usage_adjustments}})
)
