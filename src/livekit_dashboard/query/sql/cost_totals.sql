-- panel: cost_totals
-- What the calls that started in the range cost (USD, each priced with the prices in force at its start): in total, per call and per stage; how many calls have usage that no price covers (the unpriced share: their priced usage is counted, the rest is not, never as $0) and what evaluation judges and fallback recovery probes cost (excluded from the total). A model filter keeps the calls that used those models and those models' cost.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
-- returns: calls UInt64, cost_usd Float64, cost_per_call_usd Nullable(Float64), llm_usd Float64, realtime_usd Float64, tts_usd Float64, stt_usd Float64, excluded_usd Float64, unpriced_calls UInt64, unpriced_share Float64
SELECT
    count() AS calls,
    sum(cost) AS cost_usd,
    if(calls = 0, NULL, cost_usd / calls) AS cost_per_call_usd,
    sum(llm) AS llm_usd,
    sum(realtime) AS realtime_usd,
    sum(tts) AS tts_usd,
    sum(stt) AS stt_usd,
    sum(excluded) AS excluded_usd,
    countIf(unpriced) AS unpriced_calls,
    if(calls = 0, 0, unpriced_calls / calls) AS unpriced_share
FROM (
    SELECT
        {{call_cost}} AS cost,
        -- without a model filter the call's stored sums; with one, its lines of those models
        empty({models:Array(String)}) AS whole,
        if(whole, [r.cost_llm_usd, r.cost_realtime_usd, r.cost_tts_usd, r.cost_stt_usd], {{stage_cost}}) AS per_stage,
        per_stage[1] AS llm,
        per_stage[2] AS realtime,
        per_stage[3] AS tts,
        per_stage[4] AS stt,
        if(whole, r.cost_excluded_usd, arraySum(arrayMap(
            (c, k, p) -> if(p != 'call' AND {{line_in_models}}, c, 0.), r.line_cost_usd, r.line_keys, r.line_purpose
        ))) AS excluded,
        if(whole, notEmpty(r.unpriced_models), arrayExists(k -> {{line_in_models}}, r.unpriced_models)) AS unpriced
    FROM lk_call_records AS r FINAL
    WHERE {{calls_started}}
)
