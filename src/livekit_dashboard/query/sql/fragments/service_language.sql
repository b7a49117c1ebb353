-- fragment: service_language
-- The service and SDK-language filters on a table with ServiceName and Language columns (empty: all).
-- params: services Array(String), languages Array(String)
(empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
