-- query: call_touches
-- The touches (trace id or call id, and when) queued after a moment (unix ms): the calls a settle round recomputes.
-- params: since Int64
-- returns: trace String, call String, ms Int64, id String
SELECT TraceId AS trace, CallId AS call, toUnixTimestamp64Milli(TouchedAt) AS ms, toString(TouchId) AS id
FROM lk_call_touch
WHERE TouchedAt > fromUnixTimestamp64Milli({since:Int64}, 'UTC')
