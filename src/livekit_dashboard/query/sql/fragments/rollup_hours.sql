-- fragment: rollup_hours
-- A rollup row's Hour lies in the whole hours of the range (needs hour_window's first_hour, last_hour).
-- params: (none of its own)
Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
