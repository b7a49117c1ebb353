-- The call records, laid out for the call explorer's reads (issue 12: a page of 50 calls in tens of
-- milliseconds). Measured on 138,888 calls (docs/benchmarks.md): reading 50 calls by id read nearly
-- every 8,192-row granule of every column (call ids are random), 300-400 ms; with 128-row granules and
-- small compressed blocks a page reads ~50 x 128 rows. And each call keeps the words said on it
-- (`words`: the caller's and the agent's, from its turns' spans and its uploaded chat history), so the
-- call list's search by words is a filter on the record, like every other filter; and the model names
-- it used, so the model filter compares names instead of splitting strings (154 -> ~90 ms).
-- ClickHouse cannot change a table's granularity in place: the records are copied into a table of the
-- new layout (its columns those of the table it replaces, and the two new ones), which then takes the
-- old one's name. Re-runnable: a crash before the EXCHANGE starts the copy again; after it, the copy is
-- made again from the new table (the copied column list is explicit).

-- Words a text holds, as the call list's search matches them: lower-case tokens (split on ASCII
-- non-alphanumerics; other letters are kept, so `grüße` and `你好` are words), each once.
CREATE OR REPLACE FUNCTION lkd_words {{on_cluster}} AS (text) -> arrayDistinct(tokens(lowerUTF8(text)));

-- The text of a chat history's messages (ChatContext.to_dict() JSON, as uploaded: lk_chat_histories),
-- joined by spaces; content parts that are not text (images, audio) are left out.
CREATE OR REPLACE FUNCTION lkd_chat_text {{on_cluster}} AS (items) -> arrayStringConcat(arrayFilter(
    part -> NOT startsWith(part, '{'),
    arrayFlatten(arrayMap(
        item -> JSONExtract(item, 'content', 'Array(String)'),
        arrayFilter(item -> JSONExtractString(item, 'type') = 'message', JSONExtractArrayRaw(items, 'items'))
    ))
), ' ');

DROP TABLE IF EXISTS lk_call_records_next {{on_cluster}};

-- retention: none (the copy being made; it becomes lk_call_records below)
CREATE TABLE IF NOT EXISTS lk_call_records_next {{on_cluster}} AS lk_call_records
ENGINE = {{replacing_engine}}(settled_at)
ORDER BY call_id
SETTINGS index_granularity = 128, min_compress_block_size = 2048, non_replicated_deduplication_window = 1000;

ALTER TABLE lk_call_records_next {{on_cluster}}
    ADD COLUMN IF NOT EXISTS words Array(LowCardinality(String)),
    -- the model names of `models` (stage|provider|model), for the call list's model filter (computed
    -- as rows are written; not part of SELECT * or of an INSERT's columns)
    ADD COLUMN IF NOT EXISTS model_names Array(LowCardinality(String))
        MATERIALIZED arrayDistinct(arrayMap(m -> splitByChar('|', m)[-1], models));

INSERT INTO lk_call_records_next (
    call_id, trace_id, room_name, service, language, agent_name, user_email, assistant_id, started_at,
    ended_at, call_duration_s, models, llm_input_audio_tokens, llm_input_text_tokens,
    llm_input_cached_audio_tokens, llm_input_cached_text_tokens, llm_output_audio_tokens,
    llm_output_text_tokens, total_llm_tokens, llm_cache_write_tokens, llm_reasoning_tokens, tts_characters,
    tts_audio_duration, stt_audio_duration, turns, errors, close_reason, source, span_input_audio_tokens,
    span_input_text_tokens, span_cached_tokens, span_output_audio_tokens, span_output_text_tokens, failures,
    recovered_requests, tool_errors, responses, response_p50_s, response_max_s, flagged_latencies,
    interruptions, settled_at, line_keys, line_purpose, line_usage, line_cost_usd, line_priced, line_source,
    cost_usd, cost_items, cost_llm_usd, cost_realtime_usd, cost_tts_usd, cost_stt_usd, cost_excluded_usd,
    unpriced_models, outcome, outcome_reason, tags, evaluations, simulated,
    words
)
SELECT
    r.call_id, r.trace_id, r.room_name, r.service, r.language, r.agent_name, r.user_email, r.assistant_id,
    r.started_at, r.ended_at, r.call_duration_s, r.models, r.llm_input_audio_tokens, r.llm_input_text_tokens,
    r.llm_input_cached_audio_tokens, r.llm_input_cached_text_tokens, r.llm_output_audio_tokens,
    r.llm_output_text_tokens, r.total_llm_tokens, r.llm_cache_write_tokens, r.llm_reasoning_tokens,
    r.tts_characters, r.tts_audio_duration, r.stt_audio_duration, r.turns, r.errors, r.close_reason,
    r.source, r.span_input_audio_tokens, r.span_input_text_tokens, r.span_cached_tokens,
    r.span_output_audio_tokens, r.span_output_text_tokens, r.failures, r.recovered_requests, r.tool_errors,
    r.responses, r.response_p50_s, r.response_max_s, r.flagged_latencies, r.interruptions, r.settled_at,
    r.line_keys, r.line_purpose, r.line_usage, r.line_cost_usd, r.line_priced, r.line_source, r.cost_usd,
    r.cost_items, r.cost_llm_usd, r.cost_realtime_usd, r.cost_tts_usd, r.cost_stt_usd, r.cost_excluded_usd,
    r.unpriced_models, r.outcome, r.outcome_reason, r.tags, r.evaluations, r.simulated,
    arrayDistinct(arrayConcat(t.words, h.words)) AS words
FROM lk_call_records AS r FINAL
LEFT JOIN (
    SELECT TraceId, lkd_words(arrayStringConcat(groupArray(concat(UserText, ' ', AgentText)), ' ')) AS words
    FROM lk_turns
    GROUP BY TraceId
) AS t ON t.TraceId = r.trace_id
LEFT JOIN (
    SELECT CallId, lkd_words(lkd_chat_text(Items)) AS words FROM lk_chat_histories FINAL
) AS h ON h.CallId = r.call_id;

EXCHANGE TABLES lk_call_records AND lk_call_records_next {{on_cluster}};

DROP TABLE IF EXISTS lk_call_records_next {{on_cluster}};
