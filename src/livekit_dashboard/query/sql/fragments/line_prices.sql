-- fragment: line_prices
-- WITH-list items pricing a settled call's lines (line_keys, line_usage of lk_call_records or the settle query) at the call's start: line_period is the index of the price period in force (0: none), line_units the USD per unit of each usage component (-1: no meter), line_items the cost of each component. The prices come as parameters: one entry per period of each model (stage|provider|model), oldest first, its start (unix ms), ten unit prices (flattened) (its source: call_costs).
-- params: price_keys Array(String), price_from_ms Array(Int64), price_units Array(Float64)
toUnixTimestamp64Milli(started_at) AS call_ms,
arrayMap(
    k -> arrayLastIndex((pk, pf) -> pk = k AND pf <= call_ms, {price_keys:Array(String)}, {price_from_ms:Array(Int64)}),
    line_keys
) AS line_period,
arrayMap(
    i -> if(i = 0, arrayWithConstant(10, -1.), arraySlice({price_units:Array(Float64)}, (i - 1) * 10 + 1, 10)),
    line_period
) AS line_units,
arrayMap((u, p) -> arrayMap((q, x) -> if(x < 0, 0., q * x), u, p), line_usage, line_units) AS line_items
