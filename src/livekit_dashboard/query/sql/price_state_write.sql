-- query: price_state_write
-- Record what the settled calls are now priced with.
-- params: fingerprint String
-- returns: nothing
INSERT INTO lk_price_state (Fingerprint, WrittenAt) VALUES ({fingerprint:String}, now64(3))
