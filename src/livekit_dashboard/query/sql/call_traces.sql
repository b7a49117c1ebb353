-- query: call_traces
-- The trace of each call id given: usage counters and posted reports name calls, spans name traces.
-- params: calls Array(String)
-- returns: c String, t String
SELECT CallId AS c, any(TraceId) AS t
FROM lk_calls
WHERE CallId IN {calls:Array(String)}
GROUP BY CallId
