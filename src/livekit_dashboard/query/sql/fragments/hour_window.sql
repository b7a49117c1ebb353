-- fragment: hour_window
-- WITH items first_hour and last_hour (unix seconds): the whole hours inside [start, end) are
-- [first_hour, last_hour); a panel reads them from an hourly rollup and the partial hours at the
-- range's edges ({{raw_edges}}) from the raw rows, so its answer equals the raw-table SQL (hours the
-- rollups may have expired count as an edge: first_whole_hour).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
{{first_whole_hour}},
    greatest(first_hour, toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600)) AS last_hour
