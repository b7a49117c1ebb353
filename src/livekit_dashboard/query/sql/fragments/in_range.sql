-- fragment: in_range
-- A row's Timestamp lies in [start, end).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC')
Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
