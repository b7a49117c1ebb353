-- query: call_rows
-- The rows of the calls given (a page of call_list), as every call view shows them.
-- params: ids Array(String)
-- returns: call_id String, trace_id String, room_name String, service String, language String, agent_name String, user_email String, assistant_id String, started_at_iso String, ended_at_iso String, call_duration_s Float64, models Array(String), llm_* UInt64, total_llm_tokens UInt64, tts_characters UInt64, tts_audio_duration Float64, stt_audio_duration Float64, turns UInt64, errors UInt64, failures UInt64, recovered_requests UInt64, tool_errors UInt64, responses UInt64, response_p50_s Nullable(Float64), response_max_s Nullable(Float64), flagged_latencies UInt64, interruptions UInt64, close_reason String, source String
SELECT {{call_columns}}
FROM lk_call_records AS r FINAL
WHERE r.call_id IN {ids:Array(String)}
