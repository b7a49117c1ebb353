-- fragment: trace_used_model
-- The model filter on a table with a TraceId column: rows of traces (calls) that made a request to
-- one of these models (empty: all). Requests are looked up a day either side of the range, since a
-- call's requests need not fall inside it.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), models Array(String)
(empty({models:Array(String)}) OR TraceId IN (
            SELECT TraceId FROM lk_requests
            WHERE Model IN {models:Array(String)}
                AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
                AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY))
