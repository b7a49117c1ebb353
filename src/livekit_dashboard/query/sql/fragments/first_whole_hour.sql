-- fragment: first_whole_hour
-- WITH item first_hour (unix seconds): the first whole hour of [start, end) that a rollup may serve. The
-- hours before lkd_rollup_from() are not whole in the rollups: they expire hour by hour while raw rows
-- remain until their day's last row expires (schema/0023_rollup_horizon.sql), so those are read raw.
-- params: start DateTime64(9, 'UTC')
toInt64(intDiv(toUnixTimestamp64Nano(greatest({start:DateTime64(9, 'UTC')}, lkd_rollup_from())) + 3599999999999, 3600000000000) * 3600) AS first_hour
