-- panel: conversations_below_threshold
-- Calls with fewer than threshold agent turns (newest first, paginated; total counts all of them).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), threshold UInt32, limit UInt32, offset UInt32, simulated String
-- returns: total UInt64, time_unix_nano Int64, service String, call_id String, room_name String, trace_id String, turns UInt64, duration_ms Float64
SELECT
    count() OVER () AS total,
    toUnixTimestamp64Nano(c.Timestamp) AS time_unix_nano,
    c.ServiceName AS service,
    c.CallId AS call_id,
    -- the session span's room name, else the job span's (lk.pii.room_name can be empty on the session)
    if(c.RoomName != '', c.RoomName, ifNull(u.room_name, '')) AS room_name,
    c.TraceId AS trace_id,
    t.turns AS turns,
    c.DurationNs / 1e6 AS duration_ms
FROM (
    SELECT Timestamp, ServiceName, CallId, RoomName, TraceId, DurationNs FROM lk_calls
    WHERE {{in_range}}
    AND {{service_language}}
        AND {{trace_used_model}}
) AS c
LEFT JOIN (
    -- turns per call from the lk_call_turns rollup (a call's turns all fall on or after its start)
    SELECT TraceId, toUInt64(sum(Turns)) AS turns FROM lk_call_turns
    WHERE Day >= toDate({start:DateTime64(9, 'UTC')}) AND Day <= toDate({end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY)
    GROUP BY TraceId
) AS t USING (TraceId)
LEFT JOIN (
    SELECT TraceId, max(RoomName) AS room_name FROM lk_call_usage
    WHERE TraceId IN (SELECT TraceId FROM lk_calls WHERE {{in_range}} AND RoomName = '')
    GROUP BY TraceId
) AS u USING (TraceId)
WHERE turns < {threshold:UInt32}
ORDER BY time_unix_nano DESC, trace_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
