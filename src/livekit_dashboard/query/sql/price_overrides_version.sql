-- query: price_overrides_version
-- How many price writes the admin API has made and when the last was: it changes with every set or removed price, on any replica, so a server knows when to read the prices again.
-- params: (none)
-- returns: writes UInt64, last_ms Int64
SELECT count() AS writes, toUnixTimestamp64Milli(max(WrittenAt)) AS last_ms
FROM lk_price_overrides
