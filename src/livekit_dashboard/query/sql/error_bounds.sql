-- query: error_bounds
-- When the error rows of these traces were stored (earliest and latest, unix ns) and how many there are: the window a settle round reads for traces of which no span is stored (a failed realtime reply's ERROR log whose spans were not sampled or not sent).
-- params: traces Array(String)
-- returns: lo Int64, hi Int64, n UInt64
SELECT
    toUnixTimestamp64Nano(min(Timestamp)) AS lo,
    toUnixTimestamp64Nano(max(Timestamp)) AS hi,
    count() AS n
FROM lk_errors
WHERE TraceId IN {traces:Array(String)}
