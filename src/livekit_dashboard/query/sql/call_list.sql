-- query: call_list
-- The call ids of one page of calls (their rows: call_rows.sql, by primary key, so this sorts only the columns its filters and sort need) and how many match (settled records), filtered and sorted: those that started in [start, end) of the services, agent (name or assistant id), user and models asked for, with a failure, or whose slowest valid response took at least min_response_s, or whose agent tagged this outcome (none: no outcome), of the traffic asked for (simulated_calls; a call found by id is found whatever its traffic); q finds a call by its call id, trace id, room name or user email (at any time) or (q_words = 1) by words said on it, all of them, by the caller or the agent (in the range).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), agent String, user String, has_errors UInt8, min_response_s Float64, models Array(String), outcome String, simulated String, q String, q_words UInt8, sort String, descending UInt8, limit UInt32, offset UInt32
-- returns: call_id String, k Nullable(Float64), total UInt64
SELECT
    r.call_id AS call_id,
    multiIf(
        {sort:String} = 'call_duration_s', r.call_duration_s,
        {sort:String} = 'turns', toFloat64(r.turns),
        {sort:String} = 'failures', toFloat64(r.failures),
        {sort:String} = 'errors', toFloat64(r.errors),
        {sort:String} = 'tool_errors', toFloat64(r.tool_errors),
        {sort:String} = 'total_llm_tokens', toFloat64(r.total_llm_tokens),
        {sort:String} = 'tts_characters', toFloat64(r.tts_characters),
        {sort:String} = 'stt_audio_duration', r.stt_audio_duration,
        {sort:String} = 'response_p50_s', r.response_p50_s,
        {sort:String} = 'response_max_s', r.response_max_s,
        {sort:String} = 'flagged_latencies', toFloat64(r.flagged_latencies),
        {sort:String} = 'interruptions', toFloat64(r.interruptions),
        {sort:String} = 'cost_usd', r.cost_usd,
        toFloat64(toUnixTimestamp64Nano(r.started_at))
    ) * if({descending:UInt8} = 1, -1, 1) AS k,
    count() OVER () AS total
FROM lk_call_records AS r FINAL
WHERE (
        ({q:String} != '' AND {q_words:UInt8} = 0 AND (
            r.call_id = {q:String} OR r.trace_id = lower({q:String}) OR r.room_name = {q:String}
            OR r.user_email = {q:String}
        ))
        OR (
            r.started_at >= {start:DateTime64(9, 'UTC')} AND r.started_at < {end:DateTime64(9, 'UTC')}
            AND {{simulated_calls}}
            AND ({q:String} = '' OR r.trace_id IN (
                -- calls where every word of q was said (by the caller or the agent, in any turn); a
                -- call's turns happen after it starts, so look a few hours past the range's end
                SELECT TraceId
                FROM lk_turns
                ARRAY JOIN splitByWhitespace(lower({q:String})) AS word
                WHERE {q_words:UInt8} = 1
                    AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 6 HOUR AND Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND (positionCaseInsensitiveUTF8(UserText, word) > 0 OR positionCaseInsensitiveUTF8(AgentText, word) > 0)
                GROUP BY TraceId
                HAVING uniqExact(word) = length(arrayDistinct(splitByWhitespace(lower({q:String}))))
            ))
        )
    )
    AND (empty({services:Array(String)}) OR has({services:Array(String)}, r.service))
    AND ({agent:String} = '' OR r.agent_name = {agent:String} OR r.assistant_id = {agent:String})
    AND ({user:String} = '' OR r.user_email = {user:String})
    AND ({has_errors:UInt8} = 0 OR r.failures > 0)
    AND ({min_response_s:Float64} = 0 OR r.response_max_s >= {min_response_s:Float64})
    AND ({outcome:String} = '' OR r.outcome = if({outcome:String} = 'none', '', {outcome:String}))
    -- a record names its models stage|provider|model
    AND (empty({models:Array(String)}) OR arrayExists(m -> has({models:Array(String)}, splitByChar('|', m)[-1]), r.models))
ORDER BY k, call_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
