-- fragment: slow_responses
-- The slowest-replies panel's page: the turns of [start, end) with a valid response latency that the filters keep, slowest first (then by span id), `limit` of them from `offset`; for `SELECT <columns> FROM lk_turns {{slow_responses}}`.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String, limit UInt32, offset UInt32
WHERE {{responses_kept}}
ORDER BY E2eLatencyS DESC, SpanId
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
