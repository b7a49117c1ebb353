-- query: settle_calls
-- Settle the calls given (traces and call ids) into lk_call_records: each call's usage record, its SDK language, its failures, recovered requests and tool errors (the error panels' definitions), its response latencies (median and worst of the valid ones, how many were flagged) and interruptions. start/end bound where their spans, turns and errors are looked up.
-- params: traces Array(String), calls Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), settled_at DateTime64(3)
-- returns: nothing (rows are inserted into lk_call_records)
INSERT INTO lk_call_records
SELECT
    r.call_id, r.trace_id, r.room_name, r.service, ifNull(c.language, ''), r.agent_name, r.user_email,
    r.assistant_id, r.started_at, r.ended_at, r.call_duration_s, r.models,
    r.llm_input_audio_tokens, r.llm_input_text_tokens, r.llm_input_cached_audio_tokens,
    r.llm_input_cached_text_tokens, r.llm_output_audio_tokens, r.llm_output_text_tokens, r.total_llm_tokens,
    r.llm_cache_write_tokens, r.llm_reasoning_tokens, r.tts_characters, r.tts_audio_duration,
    r.stt_audio_duration, r.turns, r.errors, r.close_reason, r.source,
    r.span_input_audio_tokens, r.span_input_text_tokens, r.span_cached_tokens, r.span_output_audio_tokens,
    r.span_output_text_tokens,
    ifNull(e.failures, 0), ifNull(e.recovered, 0), ifNull(e.tool_errors, 0),
    ifNull(t.responses, 0), t.response_p50_s, t.response_max_s, ifNull(t.flagged, 0), ifNull(t.interruptions, 0),
    {settled_at:DateTime64(3)}
FROM lk_usage_records(traces = {traces:Array(String)}, calls = {calls:Array(String)}) AS r
LEFT JOIN (
    SELECT TraceId, any(Language) AS language FROM lk_calls WHERE TraceId IN {traces:Array(String)} GROUP BY TraceId
) AS c ON c.TraceId = r.trace_id
LEFT JOIN (
    SELECT
        TraceId, countIf(Kind = 'failure') AS failures, countIf(Kind = 'recovered') AS recovered,
        countIf(Kind = 'tool_error') AS tool_errors
    FROM (
        {{failures}}
        UNION ALL
        {{recovered}}
    )
    WHERE TraceId IN {traces:Array(String)}
    GROUP BY TraceId
) AS e ON e.TraceId = r.trace_id
LEFT JOIN (
    SELECT
        TraceId,
        countIf(lkd_latency_ok(E2eLatencyS)) AS responses,
        quantileExactIf(0.5)(E2eLatencyS, lkd_latency_ok(E2eLatencyS)) AS p50,
        if(responses = 0, NULL, p50) AS response_p50_s,
        maxIf(E2eLatencyS, lkd_latency_ok(E2eLatencyS)) AS response_max_s,
        countIf(E2eLatencyS IS NOT NULL AND NOT lkd_latency_ok(E2eLatencyS)) AS flagged,
        countIf(Interrupted = 1) AS interruptions
    FROM lk_turns
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
    GROUP BY TraceId
) AS t ON t.TraceId = r.trace_id
