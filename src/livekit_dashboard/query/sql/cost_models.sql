-- panel: cost_models
-- Each model's usage and cost over the calls that started in the range (stage|provider|model and purpose: call, or judge and probe, which are not in the totals): calls, usage per component (domain/prices.py COMPONENTS order), cost (USD) of its priced usage, whether all its usage was priced, the price's source. Unpriced models list what a price would cover.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: key String, stage String, provider String, model String, purpose String, calls UInt64, usage Array(Float64), cost_usd Float64, priced UInt8, sources Array(String)
SELECT
    k AS key,
    splitByChar('|', k)[1] AS stage,
    splitByChar('|', k)[2] AS provider,
    arrayStringConcat(arraySlice(splitByChar('|', k), 3), '|') AS model,
    p AS purpose,
    uniqExact(cityHash64(r.call_id)) AS calls,
    sumForEach(u) AS usage,
    sum(c) AS cost_usd,
    min(ok) AS priced,
    arraySort(groupUniqArrayIf(source, source != '')) AS sources
FROM lk_call_records AS r FINAL
ARRAY JOIN r.line_keys AS k, r.line_purpose AS p, r.line_usage AS u, r.line_cost_usd AS c, r.line_priced AS ok, r.line_source AS source
WHERE {{calls_started}}
    AND {{line_in_models}}
GROUP BY k, p
ORDER BY priced, cost_usd DESC, key, purpose
