-- fragment: call_costs
-- A settled call's cost columns (lk_call_records, in table order from line_cost_usd on), from its lines priced by the line_prices fragment: each line's cost, whether all its usage was priced and where the price came from; the call's cost (production lines), per usage component and per stage; what judges and recovery probes cost (excluded); the models whose usage no price covers.
-- params: price_sources Array(String)
arrayMap(c -> arraySum(c), line_items) AS line_cost_usd,
arrayMap((u, p) -> toUInt8(NOT arrayExists((q, x) -> q > 0 AND x < 0, u, p)), line_usage, line_units) AS line_priced,
arrayMap(i -> if(i = 0, '', {price_sources:Array(String)}[i]), line_period) AS line_source,
arraySum(arrayMap((c, pur) -> if(pur = 'call', arraySum(c), 0.), line_items, line_purpose)) AS cost_usd,
arrayMap(n -> arraySum(arrayMap((c, pur) -> if(pur = 'call', c[n], 0.), line_items, line_purpose)), range(1, 11)) AS cost_items,
arraySum(arrayMap((c, k, pur) -> if(pur = 'call' AND startsWith(k, 'llm|'), arraySum(c), 0.), line_items, line_keys, line_purpose))
    AS cost_llm_usd,
arraySum(arrayMap((c, k, pur) -> if(pur = 'call' AND startsWith(k, 'realtime|'), arraySum(c), 0.), line_items, line_keys, line_purpose))
    AS cost_realtime_usd,
arraySum(arrayMap((c, k, pur) -> if(pur = 'call' AND startsWith(k, 'tts|'), arraySum(c), 0.), line_items, line_keys, line_purpose))
    AS cost_tts_usd,
arraySum(arrayMap((c, k, pur) -> if(pur = 'call' AND startsWith(k, 'stt|'), arraySum(c), 0.), line_items, line_keys, line_purpose))
    AS cost_stt_usd,
arraySum(arrayMap((c, pur) -> if(pur != 'call', arraySum(c), 0.), line_items, line_purpose)) AS cost_excluded_usd,
arrayDistinct(arrayFilter(
    (k, u, p, pur) -> pur = 'call' AND arrayExists((q, x) -> q > 0 AND x < 0, u, p),
    line_keys, line_usage, line_units, line_purpose
)) AS unpriced_models
