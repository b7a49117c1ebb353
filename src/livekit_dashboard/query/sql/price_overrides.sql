-- query: price_overrides
-- The prices users set through the admin API (newest write per provider, model and date; deleted ones left out).
-- params: (none)
-- returns: provider String, model String, effective_from DateTime64(3, 'UTC'), prices Map(String, Float64), note String
SELECT Provider AS provider, Model AS model, EffectiveFrom AS effective_from, Prices AS prices, Note AS note
FROM lk_price_overrides FINAL
WHERE Deleted = 0
ORDER BY provider, model, effective_from
