-- query: call_bounds
-- When the sessions of these traces started (earliest and latest, unix ns) and how many are stored: a settle round looks up their turns and errors around them.
-- params: traces Array(String)
-- returns: lo Int64, hi Int64, n UInt64
SELECT
    toUnixTimestamp64Nano(min(Timestamp)) AS lo,
    toUnixTimestamp64Nano(max(Timestamp)) AS hi,
    count() AS n
FROM lk_calls
WHERE TraceId IN {traces:Array(String)}
