-- query: inserts_running
-- When the oldest insert still running started (unix ms, on the storage's clock; 0 when none runs): a touch stamped at or after it may stand for rows that insert has not committed yet (an insert's materialized views commit one by one), so a settle round settles its call again later. On a cluster the settler reads every node's process list.
-- params: (none)
-- returns: since_ms Int64
SELECT if(count() = 0, 0, toUnixTimestamp64Milli(now64(3)) - toInt64(ceil(max(elapsed) * 1000)) - 1) AS since_ms
FROM system.processes
WHERE query_kind = 'Insert'
