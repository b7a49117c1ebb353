-- query: usage_totals
-- Usage and cost totals over the records that started in the range (bounds inclusive): overall, or per user, assistant, or UTC hour/day/week/month. Cost as the cost panels count it (production usage priced at each call's start; judges and recovery probes excluded; unpriced_records: calls with usage no price covers).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), user_email String, assistant_id String, simulated String, dimension String
-- returns: group_key String, total_records UInt64, total_llm_input_audio_tokens UInt64, total_llm_input_text_tokens UInt64, total_llm_input_cached_audio_tokens UInt64, total_llm_input_cached_text_tokens UInt64, total_llm_output_audio_tokens UInt64, total_llm_output_text_tokens UInt64, total_llm_tokens UInt64, total_tts_characters UInt64, total_tts_audio_duration Float64, total_call_duration_minutes Float64, total_stt_audio_duration Float64, total_cost_usd Float64, total_cost_llm_usd Float64, total_cost_realtime_usd Float64, total_cost_tts_usd Float64, total_cost_stt_usd Float64, total_cost_excluded_usd Float64, unpriced_records UInt64
SELECT
    multiIf(
        {dimension:String} = 'user', user_email,
        {dimension:String} = 'assistant', assistant_id,
        {dimension:String} = 'hour', formatDateTime(toStartOfHour(started_at, 'UTC'), '%Y-%m-%dT%H:%i:%SZ', 'UTC'),
        {dimension:String} = 'day',
        formatDateTime(toDateTime(toStartOfDay(started_at, 'UTC'), 'UTC'), '%Y-%m-%dT%H:%i:%SZ', 'UTC'),
        {dimension:String} = 'week',
        formatDateTime(toDateTime(toMonday(started_at, 'UTC'), 'UTC'), '%Y-%m-%dT%H:%i:%SZ', 'UTC'),
        {dimension:String} = 'month',
        formatDateTime(toDateTime(toStartOfMonth(started_at, 'UTC'), 'UTC'), '%Y-%m-%dT%H:%i:%SZ', 'UTC'),
        ''
    ) AS group_key,
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
    sum(stt_audio_duration) AS total_stt_audio_duration,
    sum(cost_usd) AS total_cost_usd,
    sum(cost_llm_usd) AS total_cost_llm_usd,
    sum(cost_realtime_usd) AS total_cost_realtime_usd,
    sum(cost_tts_usd) AS total_cost_tts_usd,
    sum(cost_stt_usd) AS total_cost_stt_usd,
    sum(cost_excluded_usd) AS total_cost_excluded_usd,
    countIf(notEmpty(unpriced_models)) AS unpriced_records
FROM {{usage_records}}
WHERE started_at >= {start:DateTime64(9, 'UTC')} AND started_at <= {end:DateTime64(9, 'UTC')}
    AND ({user_email:String} = '' OR user_email = {user_email:String})
    AND ({assistant_id:String} = '' OR assistant_id = {assistant_id:String})
GROUP BY group_key
-- users and assistants: most tokens first; periods: in time order
ORDER BY if({dimension:String} IN ('user', 'assistant'), -toFloat64(total_llm_tokens), 0), group_key
