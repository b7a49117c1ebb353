-- query: reprice_calls
-- Price settled calls again from their stored lines, with the prices given (after a price was added, changed or removed, or a model was first seen): the calls that used one of the models (stage|provider|model; empty: any) and started at or after since_ms, or (settled_ms > 0) only those settled at that time. Usage and everything else stays as settled.
-- params: keys Array(String), since_ms Int64, settled_ms Int64, price_keys Array(String), price_from_ms Array(Int64), price_units Array(Float64), price_sources Array(String)
-- returns: nothing (rows are inserted into lk_call_records)
INSERT INTO lk_call_records
WITH {{line_prices}}
SELECT * REPLACE ({{call_costs}}, now64(3) AS settled_at)
-- (c.settled_at: the stored one, not the new one this statement writes)
FROM lk_call_records AS c FINAL
WHERE (empty({keys:Array(String)}) OR hasAny(c.line_keys, {keys:Array(String)}))
    AND toUnixTimestamp64Milli(c.started_at) >= {since_ms:Int64}
    AND ({settled_ms:Int64} = 0 OR toUnixTimestamp64Milli(c.settled_at) = {settled_ms:Int64})
