-- fragment: log_filter
-- A log record (otel_logs) of the services and SDK languages asked for (empty: all), at or above min_severity, whose body contains text (case-insensitive; empty: any), of the traffic asked for: production (simulated = exclude), LiveKit agent simulations (only) or both (include); livekit-agents stamps lk.simulation.enabled on every log of a job the agent simulator dispatched.
-- params: services Array(String), languages Array(String), min_severity UInt8, text String, simulated String
(empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
    AND (empty({languages:Array(String)}) OR ResourceAttributes['telemetry.sdk.language'] IN {languages:Array(String)})
    AND SeverityNumber >= {min_severity:UInt8}
    AND ({text:String} = '' OR positionCaseInsensitiveUTF8(Body, {text:String}) > 0)
    AND multiIf({simulated:String} = 'include', 1, {simulated:String} = 'only',
        LogAttributes['lk.simulation.enabled'] = 'true', LogAttributes['lk.simulation.enabled'] != 'true')
