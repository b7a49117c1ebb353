-- panel: token_usage_totals
-- Token sums of LLM and realtime requests in the range; input includes cached, total = input + output.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
-- returns: requests UInt64, input_tokens UInt64, output_tokens UInt64, total_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64, reasoning_tokens UInt64, input_audio_tokens UInt64, input_text_tokens UInt64, output_audio_tokens UInt64, output_text_tokens UInt64
WITH
    -- whole hours inside [start, end) come from lk_request_hours, the edges from lk_requests
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 3599999999999, 3600000000000) * 3600) AS first_hour,
    greatest(first_hour, toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600)) AS last_hour
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
    toUInt64(sum(OutputTextTokens)) AS output_text_tokens
FROM (
    SELECT sum(Requests) AS n, sum(InputTokens) AS InputTokens, sum(OutputTokens) AS OutputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(InputAudioTokens) AS InputAudioTokens, sum(InputTextTokens) AS InputTextTokens, sum(OutputAudioTokens) AS OutputAudioTokens, sum(OutputTextTokens) AS OutputTextTokens
    FROM lk_request_hours
    WHERE Stage IN ('llm', 'realtime')
        AND Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
    UNION ALL
    SELECT count() AS n, sum(InputTokens) AS InputTokens, sum(OutputTokens) AS OutputTokens, sum(CacheReadTokens) AS CacheReadTokens, sum(CacheWriteTokens) AS CacheWriteTokens, sum(ReasoningTokens) AS ReasoningTokens, sum(InputAudioTokens) AS InputAudioTokens, sum(InputTextTokens) AS InputTextTokens, sum(OutputAudioTokens) AS OutputAudioTokens, sum(OutputTextTokens) AS OutputTextTokens
    FROM lk_requests
    WHERE Stage IN ('llm', 'realtime')
        AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
            OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
                AND Timestamp < {end:DateTime64(9, 'UTC')}))
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
)
