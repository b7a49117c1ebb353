-- panel: logs
-- Newest log records at or above min_severity whose body contains text (case-insensitive), of the traffic asked for (log_filter), paginated.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), min_severity UInt8, text String, simulated String, limit UInt32, offset UInt32
-- returns: total UInt64, log_id String, time_unix_nano Int64, service String, severity_text String, severity_number UInt8, body String, trace_id String, span_id String, scope_name String
WITH
    (
        SELECT count() FROM otel_logs
        WHERE {{in_range}}
            AND {{log_filter}}
    ) AS total_rows,
    -- the time of the last row of this page: only rows at or after it need a log id and a sort
    (
        SELECT min(Timestamp) FROM (
            SELECT Timestamp FROM otel_logs
            WHERE {{in_range}}
                AND {{log_filter}}
            ORDER BY Timestamp DESC
            LIMIT {limit:UInt32} + {offset:UInt32}
        )
    ) AS page_cutoff
SELECT
    total_rows AS total,
    {{log_row}}
FROM otel_logs
WHERE Timestamp >= greatest({start:DateTime64(9, 'UTC')}, page_cutoff) AND Timestamp < {end:DateTime64(9, 'UTC')}
    AND {{log_filter}}
ORDER BY Timestamp DESC, log_id
LIMIT {limit:UInt32} OFFSET {offset:UInt32}
