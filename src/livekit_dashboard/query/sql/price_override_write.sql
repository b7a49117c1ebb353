-- query: price_override_write
-- Store (or, deleted = 1, remove) a user's price for a provider's model from a date on.
-- params: provider String, model String, effective_from DateTime64(3, 'UTC'), prices Map(String, Float64), note String, deleted UInt8
-- returns: nothing
INSERT INTO lk_price_overrides (Provider, Model, EffectiveFrom, Prices, Note, Deleted, WrittenAt)
VALUES (
    {provider:String}, {model:String}, {effective_from:DateTime64(3, 'UTC')}, {prices:Map(String, Float64)},
    {note:String}, {deleted:UInt8}, now64(3)
)
