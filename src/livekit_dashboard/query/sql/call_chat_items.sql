-- query: call_chat_items
-- A call's chat history, from both places livekit-agents sends it: the `chat item` log records of its trace (scope chat_history, attribute chat.item: a ChatContext item as protobuf JSON) and the chat history its session upload carried (lk_chat_histories, the newest upload: ChatContext.to_dict() JSON). The same items in two encodings; domain/transcript.py reads both and keeps each item once.
-- params: trace_id String, trace_start_s Int64, trace_end_s Int64, call_id String
-- returns: source String, item String
SELECT 'log' AS source, LogAttributes['chat.item'] AS item
FROM otel_logs
WHERE {trace_id:String} != '' AND {{trace_log_window}}
    AND ScopeName = 'chat_history' AND Body = 'chat item'
UNION ALL
SELECT 'upload' AS source, Items AS item
FROM lk_chat_histories FINAL
WHERE CallId = {call_id:String}
