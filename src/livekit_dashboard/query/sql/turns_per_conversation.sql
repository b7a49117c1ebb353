-- panel: turns_per_conversation
-- Average agent turns per call, over calls started in the range (their settled records: a call's turns are counted whole, as the call list shows them).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: calls UInt64, turns UInt64, avg_turns Float64
SELECT
    count() AS calls,
    toUInt64(sum(r.turns)) AS turns,
    if(calls = 0, 0, turns / calls) AS avg_turns
FROM lk_call_records AS r FINAL
WHERE {{calls_started}}
    -- calls with telemetry (a trace): not those known only from a posted report, as the calls panels
    AND r.trace_id != ''
