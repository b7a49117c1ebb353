-- fragment: usage_adjustments
-- Usage livekit-agents reported for a call (its usage counters, or the session report it posted) beyond
-- what the call's spans carry (a realtime reply's usage can be on no span): one row per call that ended
-- in [start, end), at its end, on its first LLM/realtime model, with the missing tokens. Added to the
-- token panels so that they never show less than the framework counted. Reads the settled call records.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String)
SELECT
    adj.ended_at AS Timestamp, adj.service AS ServiceName, adj.language AS Language,
    adj.stage AS Stage, adj.provider AS Provider, adj.model AS Model,
    toUInt64(0) AS IsRequest,
    adj.in_audio + adj.in_text AS InputTokens, adj.out_audio + adj.out_text AS OutputTokens,
    adj.cached AS CacheReadTokens, toUInt64(0) AS CacheWriteTokens, toUInt64(0) AS ReasoningTokens,
    adj.in_audio AS InputAudioTokens, adj.in_text AS InputTextTokens,
    adj.out_audio AS OutputAudioTokens, adj.out_text AS OutputTextTokens
FROM (
    SELECT
        r.trace_id AS trace_id, r.ended_at AS ended_at, r.service AS service, r.language AS language,
        arrayFirst(m -> startsWith(m, 'llm|') OR startsWith(m, 'realtime|'), r.models) AS first_model,
        if(first_model = '', 'llm', splitByChar('|', first_model)[1]) AS stage,
        if(first_model = '', '', splitByChar('|', first_model)[2]) AS provider,
        if(first_model = '', '', arrayStringConcat(arraySlice(splitByChar('|', first_model), 3), '|')) AS model,
        toUInt64(greatest(0, toInt64(r.llm_input_audio_tokens) - toInt64(r.span_input_audio_tokens))) AS in_audio,
        toUInt64(greatest(0, toInt64(r.llm_input_text_tokens) - toInt64(r.span_input_text_tokens))) AS in_text,
        toUInt64(greatest(0, toInt64(r.llm_input_cached_audio_tokens + r.llm_input_cached_text_tokens)
            - toInt64(r.span_cached_tokens))) AS cached,
        toUInt64(greatest(0, toInt64(r.llm_output_audio_tokens) - toInt64(r.span_output_audio_tokens))) AS out_audio,
        toUInt64(greatest(0, toInt64(r.llm_output_text_tokens) - toInt64(r.span_output_text_tokens))) AS out_text
    FROM lk_call_records AS r FINAL
    -- calls end within a day of their start
    WHERE r.started_at >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY AND r.started_at < {end:DateTime64(9, 'UTC')}
        AND r.ended_at >= {start:DateTime64(9, 'UTC')} AND r.ended_at < {end:DateTime64(9, 'UTC')}
        AND (empty({services:Array(String)}) OR r.service IN {services:Array(String)})
) AS adj
WHERE adj.in_audio + adj.in_text + adj.out_audio + adj.out_text + adj.cached > 0
    AND (empty({languages:Array(String)}) OR adj.language IN {languages:Array(String)})
    AND (empty({models:Array(String)}) OR adj.model IN {models:Array(String)})
