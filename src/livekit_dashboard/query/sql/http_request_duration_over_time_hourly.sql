-- query: http_request_duration_over_time_hourly
-- http_request_duration_over_time for whole-hour buckets: whole hours from the hourly rollup (counts and averages exact, percentiles DDSketch estimates of about 1%), the partial hours at the range's edges from the raw rows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32, simulated String
-- returns: bucket UInt32, service String, target String, source String, requests UInt64, avg_ms Float64, p95_ms Float64
WITH
    {{hour_window}},
    (
        SELECT count() FROM otel_metrics_histogram
        WHERE MetricName IN ('http.client.duration', 'http.client.request.duration')
            AND TimeUnix >= {start:DateTime64(9, 'UTC')} AND TimeUnix < {end:DateTime64(9, 'UTC')}
    ) = 0 AS no_histograms
SELECT * FROM (
    {{http_client_histograms}}
    UNION ALL
    SELECT
        bucket,
        service,
        target,
        'spans' AS source,
        toUInt64(sum(n)) AS requests,
        sum(dsum) / requests / 1e6 AS avg_ms,
        toFloat64(quantileDDMerge(0.01, 0.95)(d)) / 1e6 AS p95_ms
    FROM (
        SELECT
            toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
            ServiceName AS service,
            Provider AS target,
            sum(Requests) AS n,
            sum(DurationSum) AS dsum,
            quantileDDMergeState(0.01, 0.95)(Duration) AS d
        FROM lk_request_latency_hours
        WHERE Stage IN ('llm', 'realtime', 'tts') AND no_histograms
            AND {{rollup_hours}}
            AND {{service_language}}
            AND {{model}}
        GROUP BY bucket, service, target
        UNION ALL
        SELECT
            toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
            ServiceName AS service,
            Provider AS target,
            count() AS n,
            sum(DurationNs) AS dsum,
            quantileDDState(0.01, 0.95)(DurationNs) AS d
        FROM lk_requests
        WHERE IsRequest = 1 AND Stage IN ('llm', 'realtime', 'tts') AND no_histograms
            AND {{raw_edges}}
            AND {{service_language}}
            AND {{model}}
        GROUP BY bucket, service, target
    )
    GROUP BY bucket, service, target
)
ORDER BY bucket, service, target
