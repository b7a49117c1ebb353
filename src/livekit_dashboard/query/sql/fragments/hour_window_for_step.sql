-- fragment: hour_window_for_step
-- hour_window for a panel with time buckets: when the bucket width is not whole hours, buckets split
-- hours, so there are no whole hours to read from a rollup (last_hour = first_hour: all raw).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), step_s UInt32
{{first_whole_hour}},
    if({step_s:UInt32} % 3600 = 0,
        greatest(first_hour, toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600)),
        first_hour) AS last_hour
