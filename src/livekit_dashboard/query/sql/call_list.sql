-- query: call_list
-- The call ids of one page of calls (their rows: call_rows.sql, by primary key, so this sorts only the columns its filters and sort need) and how many match (settled records), filtered and sorted: those that started in [start, end) (active = 1: that were going on in it, started before end and ended at or after start) of the services and SDK languages, agent (name or assistant id), user and models asked for, with a failure, or whose slowest valid response took at least min_response_s, or whose agent tagged this outcome (none: no outcome), of the traffic asked for (simulated_calls; a call found by id is found whatever its traffic); q finds a call by its call id, trace id, room name or user email (at any time) or (q_words = 1) by words said on it, all of them, by the caller or the agent (in the range: lkd_words, whole words in any case). sort names a column of the record (query/calls.py CALL_LIST_SORTS), ties broken by call id; nulls last either way.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), agent String, user String, has_errors UInt8, min_response_s Float64, models Array(String), outcome String, simulated String, q String, q_words UInt8, active UInt8, sort Identifier, descending UInt8, limit UInt32, offset UInt32
-- returns: call_id String, total UInt64
SELECT r.call_id AS call_id, count() OVER () AS total
FROM lk_call_records AS r FINAL
WHERE (
        {q:String} = ''
        -- a search by id first finds its calls among every version of the records (no FINAL: the filter
        -- runs as the rows are read, 5-40x faster), then checks them on the newest version
        OR (r.call_id IN (
                SELECT r.call_id FROM lk_call_records AS r
                WHERE {q:String} != '' AND {q_words:UInt8} = 0 AND {{call_search}})
            AND {{call_search}})
        -- words said are searched in the range on the newest version only (a common phrase is on most
        -- calls: a first pass would read every call's words twice)
        OR ({q_words:UInt8} = 1 AND {{call_search}})
    )
    -- an id is found at any time and whatever its traffic; the rest in the range, of the traffic asked for
    AND (({q:String} != '' AND {q_words:UInt8} = 0) OR (
        r.started_at < {end:DateTime64(9, 'UTC')}
        AND if({active:UInt8} = 1, r.ended_at >= {start:DateTime64(9, 'UTC')}, r.started_at >= {start:DateTime64(9, 'UTC')})
        AND {{simulated_calls}}
    ))
    AND (empty({services:Array(String)}) OR has({services:Array(String)}, r.service))
    AND (empty({languages:Array(String)}) OR has({languages:Array(String)}, r.language))
    AND ({agent:String} = '' OR r.agent_name = {agent:String} OR r.assistant_id = {agent:String})
    AND ({user:String} = '' OR r.user_email = {user:String})
    AND ({has_errors:UInt8} = 0 OR r.failures > 0)
    AND ({min_response_s:Float64} = 0 OR r.response_max_s >= {min_response_s:Float64})
    AND ({outcome:String} = '' OR r.outcome = if({outcome:String} = 'none', '', {outcome:String}))
    AND (empty({models:Array(String)}) OR hasAny(r.model_names, {models:Array(String)}))
-- the column itself (not an expression of it) keeps the sort to the columns it needs
ORDER BY
    if({descending:UInt8} = 1, r.{sort:Identifier}, NULL) DESC NULLS LAST,
    if({descending:UInt8} = 1, NULL, r.{sort:Identifier}) ASC NULLS LAST,
    r.call_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
