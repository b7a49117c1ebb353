-- panel: token_usage_totals
-- Token sums of LLM and realtime requests in the range; input includes cached, total = input + output.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: requests UInt64, input_tokens UInt64, output_tokens UInt64, total_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64, reasoning_tokens UInt64, input_audio_tokens UInt64, input_text_tokens UInt64, output_audio_tokens UInt64, output_text_tokens UInt64
SELECT
    count() AS requests,
    sum(InputTokens) AS input_tokens,
    sum(OutputTokens) AS output_tokens,
    input_tokens + output_tokens AS total_tokens,
    sum(CacheReadTokens) AS cache_read_tokens,
    sum(CacheWriteTokens) AS cache_write_tokens,
    sum(ReasoningTokens) AS reasoning_tokens,
    sum(InputAudioTokens) AS input_audio_tokens,
    sum(InputTextTokens) AS input_text_tokens,
    sum(OutputAudioTokens) AS output_audio_tokens,
    sum(OutputTextTokens) AS output_text_tokens
FROM lk_requests
WHERE Stage IN ('llm', 'realtime')
    AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
    AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
