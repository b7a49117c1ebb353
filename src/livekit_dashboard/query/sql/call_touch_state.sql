-- query: call_touch_state
-- The queue of touched calls (lk_call_touch) as a settle round sees it: how many touches and the newest one.
-- params: (none)
-- returns: n UInt64, ms Int64, now_ms Int64
SELECT count() AS n, toUnixTimestamp64Milli(max(TouchedAt)) AS ms, toUnixTimestamp64Milli(now64(3)) AS now_ms
FROM lk_call_touch
