-- panel: http_request_duration_over_time
-- Outbound request duration (avg, p95 in ms) per bucket, service and target host: from http.client.duration (ms) / http.client.request.duration (s) histograms when any exist in the range, else from provider request spans (target = provider); whole-hour buckets run http_request_duration_over_time_hourly.sql (a rollup, percentiles estimated).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, target String, source String, requests UInt64, avg_ms Float64, p95_ms Float64
SELECT * FROM (
    {{http_client_histograms}}
    UNION ALL
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        Provider AS target,
        'spans' AS source,
        count() AS requests,
        avg(DurationNs) / 1e6 AS avg_ms,
        quantileExactInclusive(0.95)(DurationNs) / 1e6 AS p95_ms
    FROM lk_requests
    WHERE IsRequest = 1 AND Stage IN ('llm', 'realtime', 'tts')
        AND {{in_range}}
        AND {{service_language}}
        AND {{model}}
        AND (
            SELECT count() FROM otel_metrics_histogram
            WHERE MetricName IN ('http.client.duration', 'http.client.request.duration')
                AND TimeUnix >= {start:DateTime64(9, 'UTC')} AND TimeUnix < {end:DateTime64(9, 'UTC')}
        ) = 0
    GROUP BY bucket, service, target
)
ORDER BY bucket, service, target
