-- fragment: call_columns
-- The columns a call shows wherever it is listed (call list, call page): who, when, usage, the error panels' failure counts, response latency and interruptions, cost (total, per usage component and stage, excluded, unpriced models; its lines per model are call_lines, on the call page only: a page of the list reads each column once per call, ~1 ms a column), and the outcome, tags and judge verdicts, from lk_call_records (aliased r); the times come as started_at_iso and ended_at_iso.
-- params: (none)
call_id, trace_id, room_name, service, language, agent_name, user_email, assistant_id,
formatDateTime(r.started_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS started_at_iso,
formatDateTime(r.ended_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS ended_at_iso,
call_duration_s, models,
llm_input_audio_tokens, llm_input_text_tokens, llm_input_cached_audio_tokens, llm_input_cached_text_tokens,
llm_output_audio_tokens, llm_output_text_tokens, total_llm_tokens, llm_cache_write_tokens, llm_reasoning_tokens,
tts_characters, tts_audio_duration, stt_audio_duration, turns, errors, failures, recovered_requests, tool_errors,
responses, response_p50_s, response_max_s, flagged_latencies, interruptions, close_reason, source,
cost_usd, cost_items, cost_llm_usd, cost_realtime_usd, cost_tts_usd, cost_stt_usd, cost_excluded_usd, unpriced_models,
outcome, outcome_reason, tags, evaluations, simulated
