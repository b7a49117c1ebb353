-- query: call_bounds
-- When the spans of these traces started (earliest and latest, unix ns, to the second) and whether any are stored: a settle round looks up their sessions, turns and errors around them (traces of every kind: a trace with no agent session can have error records).
-- params: traces Array(String)
-- returns: lo Int64, hi Int64, n UInt64, traces UInt64
SELECT
    toInt64(toUnixTimestamp(min(Start))) * 1000000000 AS lo,
    toInt64(toUnixTimestamp(max(End))) * 1000000000 AS hi,
    count() AS n,
    uniqExact(TraceId) AS traces
FROM otel_traces_trace_id_ts
WHERE TraceId IN {traces:Array(String)}
