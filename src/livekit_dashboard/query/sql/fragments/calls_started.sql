-- fragment: calls_started
-- A settled call (lk_call_records, aliased r) started in [start, end), of the services and SDK languages asked for, (models not empty) used one of the models, and is production traffic, a simulation's, or either (simulated: exclude, only, include).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), simulated String
r.started_at >= {start:DateTime64(9, 'UTC')} AND r.started_at < {end:DateTime64(9, 'UTC')}
    AND (empty({services:Array(String)}) OR r.service IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR r.language IN {languages:Array(String)})
    AND (empty({models:Array(String)}) OR arrayExists(k -> {{line_in_models}}, r.line_keys))
    AND {{simulated_calls}}
