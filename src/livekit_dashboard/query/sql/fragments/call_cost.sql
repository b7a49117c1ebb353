-- fragment: call_cost
-- What a settled call (aliased r) cost: its cost_usd, or (models not empty) its production lines of those models; the one definition the cost panels and the call list share.
-- params: models Array(String)
if(empty({models:Array(String)}), r.cost_usd,
    arraySum(arrayMap((c, k, p) -> if(p = 'call' AND {{line_in_models}}, c, 0.), r.line_cost_usd, r.line_keys, r.line_purpose)))
