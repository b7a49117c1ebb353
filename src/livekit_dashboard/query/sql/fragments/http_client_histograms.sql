-- fragment: http_client_histograms
-- Outbound request duration per bucket, service and target host from the http.client.duration (ms) and
-- http.client.request.duration (s) histograms: counts and sums exact, p95 interpolated in the merged
-- buckets; a cumulative series counts the difference to its previous point.
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), step_s UInt32
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
