-- panel: conversations_below_threshold
-- Calls with fewer than threshold agent turns (newest first, paginated; total counts all of them), from their settled records: the turns, room and duration the call list shows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), threshold UInt32, limit UInt32, offset UInt32, simulated String
-- returns: total UInt64, time_unix_nano Int64, service String, call_id String, room_name String, trace_id String, turns UInt64, duration_ms Float64
SELECT
    count() OVER () AS total,
    toUnixTimestamp64Nano(r.started_at) AS time_unix_nano,
    r.service AS service,
    r.call_id AS call_id,
    r.room_name AS room_name,
    r.trace_id AS trace_id,
    r.turns AS turns,
    (toUnixTimestamp64Nano(r.ended_at) - toUnixTimestamp64Nano(r.started_at)) / 1e6 AS duration_ms
FROM lk_call_records AS r FINAL
WHERE {{calls_started}}
    -- calls with telemetry (a trace): not those known only from a posted report, as the calls panels
    AND r.trace_id != ''
    AND r.turns < {threshold:UInt32}
ORDER BY time_unix_nano DESC, trace_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
