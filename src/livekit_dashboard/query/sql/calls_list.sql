-- query: calls_list
-- One page of usage records (calls) with their usage, cost and trace id, sorted by a numeric field.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), user_email String, assistant_id String, simulated String, sort String, descending UInt8, limit UInt32, offset UInt32
-- returns: total UInt64, call_id String, trace_id String, room_name String, service String, agent_name String, user_email String, assistant_id String, started_at String, ended_at String, call_duration_s Float64, models Array(String), llm_* UInt64, total_llm_tokens UInt64, tts_characters UInt64, tts_audio_duration Float64, stt_audio_duration Float64, turns UInt64, errors UInt64, close_reason String, source String, cost_usd Float64, cost_llm_usd Float64, cost_realtime_usd Float64, cost_tts_usd Float64, cost_stt_usd Float64, cost_excluded_usd Float64, unpriced_models Array(String)
SELECT
    count() OVER () AS total,
    call_id, trace_id, room_name, service, agent_name, user_email, assistant_id,
    formatDateTime(started_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS started_at_iso,
    formatDateTime(ended_at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS ended_at_iso,
    call_duration_s, models,
    llm_input_audio_tokens, llm_input_text_tokens, llm_input_cached_audio_tokens, llm_input_cached_text_tokens,
    llm_output_audio_tokens, llm_output_text_tokens, total_llm_tokens, llm_cache_write_tokens, llm_reasoning_tokens,
    tts_characters, tts_audio_duration, stt_audio_duration, turns, errors, close_reason, source,
    cost_usd, cost_llm_usd, cost_realtime_usd, cost_tts_usd, cost_stt_usd, cost_excluded_usd, unpriced_models
FROM {{usage_records}}
WHERE started_at >= {start:DateTime64(9, 'UTC')} AND started_at <= {end:DateTime64(9, 'UTC')}
    AND ({user_email:String} = '' OR user_email = {user_email:String})
    AND ({assistant_id:String} = '' OR assistant_id = {assistant_id:String})
ORDER BY
    multiIf(
        {sort:String} = 'call_duration_s', call_duration_s,
        {sort:String} = 'total_llm_tokens', toFloat64(total_llm_tokens),
        {sort:String} = 'tts_characters', toFloat64(tts_characters),
        {sort:String} = 'turns', toFloat64(turns),
        {sort:String} = 'errors', toFloat64(errors),
        {sort:String} = 'cost_usd', cost_usd,
        toFloat64(toUnixTimestamp64Nano(started_at))
    ) * if({descending:UInt8} = 1, -1, 1),
    call_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
