-- fragment: provider_unnamed_traces
-- The calls (of the traces given) with an error record of [start, end) of a provider stage whose span or log names no provider or model (a failed agent_turn, a realtime reply that failed before any span): error_occurrences looks those up in the call's requests.
-- params: traces Array(String), start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
SELECT TraceId FROM lk_errors
WHERE {{in_range}} AND TraceId IN {traces:Array(String)} AND (Provider = '' OR Model = '') AND Stage IN ('llm', 'realtime', 'tts', 'stt')
