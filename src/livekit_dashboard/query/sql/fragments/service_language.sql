-- fragment: service_language
-- The service and SDK-language filters on a derived table (ServiceName, Language and Simulated columns; empty: all), and the traffic asked for: production (simulated = exclude), LiveKit agent simulations (only) or both (include).
-- params: services Array(String), languages Array(String), simulated String
(empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND multiIf({simulated:String} = 'include', 1, {simulated:String} = 'only', Simulated = 1, Simulated = 0)
