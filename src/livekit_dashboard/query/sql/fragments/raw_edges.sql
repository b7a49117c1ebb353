-- fragment: raw_edges
-- A raw row's Timestamp lies in the partial hours at the range's edges (needs hour_window).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
((Timestamp >= {start:DateTime64(9, 'UTC')}
            AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
        OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
            AND Timestamp < {end:DateTime64(9, 'UTC')}))
