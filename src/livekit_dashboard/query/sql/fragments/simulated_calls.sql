-- fragment: simulated_calls
-- A settled call (lk_call_records, aliased r) is of the traffic asked for: production (simulated = exclude, the default), a simulation's (only) or either (include).
-- params: simulated String
multiIf({simulated:String} = 'include', 1, {simulated:String} = 'only', r.simulated = 1, r.simulated = 0)
