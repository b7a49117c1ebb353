-- query: usage_by_user
-- The usage totals per user_email (records without one grouped under ''), most tokens first.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), user_email String, assistant_id String
-- returns: user_email String, total_records UInt64, total_llm_input_audio_tokens UInt64, total_llm_input_text_tokens UInt64, total_llm_input_cached_audio_tokens UInt64, total_llm_input_cached_text_tokens UInt64, total_llm_output_audio_tokens UInt64, total_llm_output_text_tokens UInt64, total_llm_tokens UInt64, total_tts_characters UInt64, total_tts_audio_duration Float64, total_call_duration_minutes Float64, total_stt_audio_duration Float64
SELECT
    user_email,
    count() AS total_records,
    sum(llm_input_audio_tokens) AS total_llm_input_audio_tokens,
    sum(llm_input_text_tokens) AS total_llm_input_text_tokens,
    sum(llm_input_cached_audio_tokens) AS total_llm_input_cached_audio_tokens,
    sum(llm_input_cached_text_tokens) AS total_llm_input_cached_text_tokens,
    sum(llm_output_audio_tokens) AS total_llm_output_audio_tokens,
    sum(llm_output_text_tokens) AS total_llm_output_text_tokens,
    sum(total_llm_tokens) AS total_llm_tokens,
    sum(tts_characters) AS total_tts_characters,
    sum(tts_audio_duration) AS total_tts_audio_duration,
    sum(call_duration_s) / 60 AS total_call_duration_minutes,
    sum(stt_audio_duration) AS total_stt_audio_duration
FROM lk_usage_records
WHERE started_at >= {start:DateTime64(9, 'UTC')} AND started_at <= {end:DateTime64(9, 'UTC')}
    AND ({user_email:String} = '' OR user_email = {user_email:String})
    AND ({assistant_id:String} = '' OR assistant_id = {assistant_id:String})
GROUP BY user_email
ORDER BY total_llm_tokens DESC, user_email
