-- fragment: call_search
-- A call record (aliased r) the call list's search q finds: by its call id, trace id, room name or user email, or (q_words = 1) by words said on it, all of them (lkd_words: whole words in any case; a q with no word finds nothing).
-- params: q String, q_words UInt8
if({q_words:UInt8} = 0,
    r.call_id = {q:String} OR r.trace_id = lower({q:String}) OR r.room_name = {q:String} OR r.user_email = {q:String},
    notEmpty(lkd_words({q:String})) AND hasAll(r.words, lkd_words({q:String})))
