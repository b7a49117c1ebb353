-- query: data_extent
-- How many spans, log records and metric points are stored, and the oldest and newest of each (unix ns): whether anything arrived at all, and where the latest data lies.
-- params: (none)
-- returns: source String, n UInt64, oldest Int64, newest Int64
-- min and max of each table's partition-key time column: answered from the parts' min-max indexes, no row is read
SELECT 'traces' AS source, count() AS n,
    toUnixTimestamp64Nano(min(Timestamp)) AS oldest, toUnixTimestamp64Nano(max(Timestamp)) AS newest
FROM otel_traces
UNION ALL
SELECT 'logs' AS source, count() AS n,
    toInt64(toUnixTimestamp(min(TimestampTime))) * 1000000000 AS oldest,
    toInt64(toUnixTimestamp(max(TimestampTime))) * 1000000000 AS newest
FROM otel_logs
UNION ALL
SELECT 'metrics' AS source, count() AS n,
    toUnixTimestamp64Nano(min(TimeUnix)) AS oldest, toUnixTimestamp64Nano(max(TimeUnix)) AS newest
FROM otel_metrics_gauge
UNION ALL
SELECT 'metrics' AS source, count() AS n,
    toUnixTimestamp64Nano(min(TimeUnix)) AS oldest, toUnixTimestamp64Nano(max(TimeUnix)) AS newest
FROM otel_metrics_sum
UNION ALL
SELECT 'metrics' AS source, count() AS n,
    toUnixTimestamp64Nano(min(TimeUnix)) AS oldest, toUnixTimestamp64Nano(max(TimeUnix)) AS newest
FROM otel_metrics_histogram
UNION ALL
SELECT 'metrics' AS source, count() AS n,
    toUnixTimestamp64Nano(min(TimeUnix)) AS oldest, toUnixTimestamp64Nano(max(TimeUnix)) AS newest
FROM otel_metrics_exponential_histogram
UNION ALL
SELECT 'metrics' AS source, count() AS n,
    toUnixTimestamp64Nano(min(TimeUnix)) AS oldest, toUnixTimestamp64Nano(max(TimeUnix)) AS newest
FROM otel_metrics_summary
