-- fragment: stage_cost
-- What a settled call's (aliased r) production usage of each stage cost, of the models asked for (empty: all): llm, realtime, tts, stt.
-- params: models Array(String)
arrayMap(
    s -> arraySum(arrayMap(
        (c, k, p) -> if(p = 'call' AND startsWith(k, s) AND {{line_in_models}}, c, 0.), r.line_cost_usd, r.line_keys, r.line_purpose
    )),
    ['llm|', 'realtime|', 'tts|', 'stt|']
)
