-- query: http_request_duration_over_time_hourly
-- http_request_duration_over_time for whole-hour buckets: whole hours from the hourly rollup (counts and averages exact, percentiles DDSketch estimates of about 1%), the partial hours at the range's edges from the raw rows.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, target String, source String, requests UInt64, avg_ms Float64, p95_ms Float64
WITH
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 3599999999999, 3600000000000) * 3600) AS first_hour,
    toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600) AS end_hour,
    greatest(first_hour, end_hour) AS last_hour,
    (
        SELECT count() FROM otel_metrics_histogram
        WHERE MetricName IN ('http.client.duration', 'http.client.request.duration')
            AND TimeUnix >= {start:DateTime64(9, 'UTC')} AND TimeUnix < {end:DateTime64(9, 'UTC')}
    ) = 0 AS no_histograms
SELECT * FROM (
    SELECT bucket, service, target, source, requests, avg_ms, p95_ms FROM (
    SELECT
        bucket,
        service,
        target,
        'metrics' AS source,
        toUInt64(sum(d_count)) AS requests,
        if(requests = 0, 0, sum(d_sum) / requests * any(to_ms)) AS avg_ms,
        -- p95 from the merged buckets, interpolated inside the bucket that holds it
        arrayCumSum(sumForEach(d_buckets)) AS cum,
        0.95 * arrayElement(cum, -1) AS rank,
        arrayFirstIndex(x -> x >= rank, cum) AS idx,
        if(idx <= 1, 0, bounds[idx - 1]) AS lower,
        if(idx > length(bounds), bounds[length(bounds)], bounds[idx]) AS upper,
        if(idx <= 1, 0, cum[idx - 1]) AS below,
        if(requests = 0, 0,
            (lower + (upper - lower) * (rank - below) / greatest(sumForEach(d_buckets)[idx], 1)) * any(to_ms)) AS p95_ms
    FROM (
        SELECT
            toUnixTimestamp(toStartOfInterval(TimeUnix, toIntervalSecond({step_s:UInt32}))) AS bucket,
            ServiceName AS service,
            multiIf(Attributes['server.address'] != '', Attributes['server.address'],
                Attributes['net.peer.name'] != '', Attributes['net.peer.name'], Attributes['http.host']) AS target,
            if(MetricName = 'http.client.duration', 1.0, 1000.0) AS to_ms,
            ExplicitBounds AS bounds,
            -- a cumulative series counts the difference to its previous point; a point whose series
            -- started before the range has no known baseline and is skipped; a drop is a reset
            AggregationTemporality = 2 AS cumulative,
            lagInFrame(Count, 1, 0) OVER w AS prev_count,
            lagInFrame(Sum, 1, 0) OVER w AS prev_sum,
            lagInFrame(BucketCounts, 1, CAST([], 'Array(UInt64)')) OVER w AS prev_buckets,
            row_number() OVER w AS nth,
            NOT cumulative OR nth = 1 OR Count < prev_count AS whole,
            if(whole, toInt64(Count), toInt64(Count) - toInt64(prev_count)) AS d_count,
            if(whole, Sum, Sum - prev_sum) AS d_sum,
            arrayMap((x, y) -> toInt64(x) - toInt64(if(whole, 0, y)), BucketCounts,
                if(whole, BucketCounts, prev_buckets)) AS d_buckets,
            NOT cumulative OR nth > 1 OR StartTimeUnix >= {start:DateTime64(9, 'UTC')} AS keep
        FROM otel_metrics_histogram
        WHERE MetricName IN ('http.client.duration', 'http.client.request.duration')
            AND TimeUnix >= {start:DateTime64(9, 'UTC')} AND TimeUnix < {end:DateTime64(9, 'UTC')}
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR ResourceAttributes['telemetry.sdk.language'] IN {languages:Array(String)})
        WINDOW w AS (PARTITION BY ServiceName, MetricName, Attributes, StartTimeUnix ORDER BY TimeUnix
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    )
    WHERE keep
    GROUP BY bucket, service, target, bounds
    )
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
            AND Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
            AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
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
        WHERE Stage IN ('llm', 'realtime', 'tts') AND no_histograms
            AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
                OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
                    AND Timestamp < {end:DateTime64(9, 'UTC')}))
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
            AND (empty({models:Array(String)}) OR Model IN {models:Array(String)})
        GROUP BY bucket, service, target
    )
    GROUP BY bucket, service, target
)
ORDER BY bucket, service, target
