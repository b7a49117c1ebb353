-- query: settle_calls
-- Settle the calls given (traces and call ids) into lk_call_records: each call's usage record, its SDK language, its failures, recovered requests and tool errors (the error panels' definitions), its response latencies (median and worst of the valid ones), how many of its latencies the flag rule left out (responses and stages: the latency panels' `flagged`) and interruptions, its outcome, tags and judge verdicts (the framework's `evaluations` log records), whether it was a simulation's, the words said on it (its turns' texts and its uploaded chat history: lkd_words), and its usage per model (lines) priced at its start. A line per model and purpose from its request spans (a request under a judge_evaluation span is a judge's, a fallback adapter's recovery probe is a probe's); what the usage record holds beyond the spans (the framework's counters, a posted report) is one more line on the call's busiest model of that stage (STT seconds exist only there). start/end bound where their spans, turns and errors are looked up.
-- params: traces Array(String), calls Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), settled_at DateTime64(3), price_keys Array(String), price_from_ms Array(Int64), price_units Array(Float64), price_sources Array(String), simulated String
-- returns: nothing (rows are inserted into lk_call_records)
INSERT INTO lk_call_records
WITH {{line_prices}}
-- in the table's column order: the record, its lines, their cost (call_costs), then the outcome
SELECT * EXCEPT (outcome, outcome_reason, tags, evaluations, simulated, words), {{call_costs}}, outcome, outcome_reason, tags,
    evaluations, simulated, words
FROM (
WITH
    -- the usage components (domain/prices.py COMPONENTS) of the record, of its spans, and beyond them
    [
        greatest(toFloat64(r.llm_input_text_tokens) - r.llm_input_cached_text_tokens - r.llm_cache_write_tokens, 0),
        greatest(toFloat64(r.llm_input_audio_tokens) - r.llm_input_cached_audio_tokens, 0),
        toFloat64(r.llm_input_cached_text_tokens), toFloat64(r.llm_input_cached_audio_tokens),
        toFloat64(r.llm_cache_write_tokens), toFloat64(r.llm_output_text_tokens), toFloat64(r.llm_output_audio_tokens),
        toFloat64(r.tts_characters), r.tts_audio_duration, r.stt_audio_duration
    ] AS record_usage,
    arrayMap(n -> arraySum(arrayMap(u -> u[n], l.usage)), range(1, 11)) AS span_usage,
    -- (a difference below a millionth is rounding between two sums of the same floats, not usage)
    arrayMap((a, b) -> if(a - b > 1e-6, a - b, 0.), record_usage, span_usage) AS extra,
    -- a stage's busiest model on the call's own requests, else the first it names
    arrayConcat(
        arrayReverseSort((k, u, p) -> if(p = 'call', arraySum(u), -1), l.keys, l.usage, l.purposes),
        arraySort(r.models)
    ) AS candidates,
    arrayFirst(k -> startsWith(k, 'llm|') OR startsWith(k, 'realtime|'), candidates) AS llm_key,
    arrayFirst(k -> startsWith(k, 'tts|'), candidates) AS tts_key,
    arrayFirst(k -> startsWith(k, 'stt|'), candidates) AS stt_key,
    arrayFilter(x -> arraySum(x.2) > 0, [
        (if(llm_key = '', 'llm||', llm_key), arrayConcat(arraySlice(extra, 1, 7), [0., 0., 0.])),
        (if(tts_key = '', 'tts||', tts_key), [0., 0., 0., 0., 0., 0., 0., extra[8], extra[9], 0.]),
        (if(stt_key = '', 'stt||', stt_key), [0., 0., 0., 0., 0., 0., 0., 0., 0., extra[10]])
    ]) AS extra_lines
SELECT
    r.call_id, r.trace_id, r.room_name, r.service, ifNull(c.language, ''), r.agent_name, r.user_email,
    r.assistant_id, r.started_at AS started_at, r.ended_at, r.call_duration_s, arraySort(r.models) AS models,
    r.llm_input_audio_tokens, r.llm_input_text_tokens, r.llm_input_cached_audio_tokens,
    r.llm_input_cached_text_tokens, r.llm_output_audio_tokens, r.llm_output_text_tokens, r.total_llm_tokens,
    r.llm_cache_write_tokens, r.llm_reasoning_tokens, r.tts_characters, r.tts_audio_duration,
    r.stt_audio_duration, r.turns, r.errors, r.close_reason, r.source,
    r.span_input_audio_tokens, r.span_input_text_tokens, r.span_cached_tokens, r.span_output_audio_tokens,
    r.span_output_text_tokens,
    ifNull(e.failures, 0), ifNull(e.recovered, 0), ifNull(e.tool_errors, 0),
    ifNull(t.responses, 0), t.response_p50_s, t.response_max_s, ifNull(t.flagged, 0) + ifNull(st.flagged, 0),
    ifNull(t.interruptions, 0),
    {settled_at:DateTime64(3)} AS settled_at,
    arrayConcat(l.keys, arrayMap(x -> x.1, extra_lines)) AS line_keys,
    arrayConcat(l.purposes, arrayMap(x -> 'call', extra_lines)) AS line_purpose,
    arrayConcat(l.usage, arrayMap(x -> x.2, extra_lines)) AS line_usage,
    ifNull(v.outcome, '') AS outcome, ifNull(v.outcome_reason, '') AS outcome_reason, ifNull(v.tags, []) AS tags,
    ifNull(v.evaluations, []) AS evaluations, ifNull(s.simulated, 0) AS simulated,
    arrayDistinct(arrayConcat(t.words, h.words)) AS words
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
        -- the median: with an even count, halfway between the two middle values (as the panels' quantiles)
        quantileExactInclusiveIf(0.5)(E2eLatencyS, lkd_latency_ok(E2eLatencyS)) AS p50,
        if(responses = 0, NULL, p50) AS response_p50_s,
        maxIf(E2eLatencyS, lkd_latency_ok(E2eLatencyS)) AS response_max_s,
        -- the response latencies and the turns' own stages the flag rule left out (their steps' below)
        countIf(E2eLatencyS IS NOT NULL AND NOT lkd_latency_ok(E2eLatencyS))
            + countIf(EndOfTurnDelayS IS NOT NULL AND NOT lkd_latency_ok(EndOfTurnDelayS))
            + countIf(TranscriptionDelayS IS NOT NULL AND NOT lkd_latency_ok(TranscriptionDelayS))
            + countIf(OnUserTurnCompletedDelayS IS NOT NULL AND NOT lkd_latency_ok(OnUserTurnCompletedDelayS))
            AS flagged,
        countIf(Interrupted = 1) AS interruptions,
        lkd_words(arrayStringConcat(groupArray(concat(UserText, ' ', AgentText)), ' ')) AS words
    FROM lk_turns
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
    GROUP BY TraceId
) AS t ON t.TraceId = r.trace_id
LEFT JOIN (
    -- every LLM step's time to first token and TTS step's time to first byte the flag rule left out
    SELECT TraceId, countIf(NOT lkd_latency_ok(ValueS)) AS flagged
    FROM lk_turn_steps
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
        AND ValueS IS NOT NULL
    GROUP BY TraceId
) AS st ON st.TraceId = r.trace_id
LEFT JOIN (
    -- the usage of the calls' request spans per model and purpose
    SELECT
        TraceId,
        groupArray(concat(Stage, '|', Provider, '|', Model)) AS keys,
        groupArray(purpose) AS purposes,
        groupArray([in_text, in_audio, cached_text, cached_audio, cache_write, out_text, out_audio, tts_chars, tts_s, 0.])
            AS usage
    FROM (
        SELECT
            TraceId, Stage, Provider, Model,
            multiIf(
                SpanId IN (
                    SELECT SpanId FROM otel_traces
                    WHERE {{in_range}}
                        AND SpanName = 'llm_request'
                        AND TraceId IN {traces:Array(String)}
                        AND ParentSpanId IN (
                            SELECT SpanId FROM otel_traces
                            WHERE {{in_range}}
                                AND TraceId IN {traces:Array(String)} AND SpanName = 'judge_evaluation'
                        )
                ), 'judge',
                IsRequest = 0 AND SpanName != 'realtime_metrics', 'probe',
                'call'
            ) AS purpose,
            toFloat64(sum(greatest(toInt64(InputTextTokens) - toInt64(CachedTextTokens) - toInt64(CacheWriteTokens), 0)))
                AS in_text,
            toFloat64(sum(greatest(toInt64(InputAudioTokens) - toInt64(CachedAudioTokens), 0))) AS in_audio,
            toFloat64(sum(CachedTextTokens)) AS cached_text, toFloat64(sum(CachedAudioTokens)) AS cached_audio,
            toFloat64(sum(CacheWriteTokens)) AS cache_write, toFloat64(sum(OutputTextTokens)) AS out_text,
            toFloat64(sum(OutputAudioTokens)) AS out_audio, toFloat64(sum(TtsCharacters)) AS tts_chars,
            sum(TtsAudioS) AS tts_s
        FROM lk_requests
        WHERE {{in_range}}
            AND TraceId IN {traces:Array(String)}
            AND Stage != 'stt'
        GROUP BY TraceId, Stage, Provider, Model, purpose
    )
    WHERE in_text + in_audio + cached_text + cached_audio + cache_write + out_text + out_audio + tts_chars + tts_s > 0
    GROUP BY TraceId
) AS l ON l.TraceId = r.trace_id
LEFT JOIN (
    -- what the agent's tagger and the LLM judges said (the last outcome wins)
    SELECT
        TraceId,
        argMaxIf(JSONExtractString(LogAttributes['outcome'], 'outcome'), Timestamp, Body = 'outcome') AS outcome,
        argMaxIf(JSONExtractString(LogAttributes['outcome'], 'reason'), Timestamp, Body = 'outcome') AS outcome_reason,
        arraySort(groupUniqArrayIf(JSONExtractString(LogAttributes['tag'], 'name'), Body = 'tag')) AS tags,
        arraySort(groupUniqArrayIf(
            concat(JSONExtractString(LogAttributes['evaluation'], 'name'), ':',
                JSONExtractString(LogAttributes['evaluation'], 'verdict')),
            Body = 'evaluation'
        )) AS evaluations
    FROM otel_logs
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
        AND ScopeName = 'evaluations'
    GROUP BY TraceId
) AS v ON v.TraceId = r.trace_id
LEFT JOIN (
    -- a simulation's job (livekit-agents stamps the marker on every span of the job)
    SELECT TraceId, toUInt8(max(SpanAttributes['lk.simulation.enabled'] = 'true')) AS simulated
    FROM otel_traces
    WHERE {{in_range}}
        AND TraceId IN {traces:Array(String)}
        AND SpanName IN ('agent_session', 'job_entrypoint')
    GROUP BY TraceId
) AS s ON s.TraceId = r.trace_id
LEFT JOIN (
    -- the words of the chat history the worker uploaded (zero-code mode: no text on the spans)
    SELECT CallId, lkd_words(lkd_chat_text(Items)) AS words
    FROM lk_chat_histories FINAL
    WHERE CallId IN (
        SELECT CallId FROM lk_calls WHERE {{in_range}} AND TraceId IN {traces:Array(String)}
        UNION ALL
        SELECT CallId FROM lk_usage_posted WHERE TraceId IN {traces:Array(String)} OR CallId IN {calls:Array(String)}
    )
) AS h ON h.CallId = r.call_id
)
