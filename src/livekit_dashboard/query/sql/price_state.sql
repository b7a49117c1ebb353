-- query: price_state
-- What the settled calls were last priced with ('' before the first time).
-- params: (none)
-- returns: fingerprint String
SELECT argMax(Fingerprint, WrittenAt) AS fingerprint FROM lk_price_state
