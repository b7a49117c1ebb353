-- panel: latency_p95_over_time
-- Agent-turn duration percentiles (p50, p95, p99, ms) per time bucket and service: exact from lk_turns for sub-hour buckets or a model filter, else t-digest estimates from the lk_turn_hours rollup (edges from lk_turns).
-- params: start DateTime64(9, 'UTC'), end DateTime64(9, 'UTC'), services Array(String), languages Array(String), models Array(String), step_s UInt32
-- returns: bucket UInt32, service String, turns UInt64, p50_ms Float64, p95_ms Float64, p99_ms Float64
WITH
    toInt64(intDiv(toUnixTimestamp64Nano({start:DateTime64(9, 'UTC')}) + 3599999999999, 3600000000000) * 3600) AS first_hour,
    toInt64(intDiv(toUnixTimestamp64Nano({end:DateTime64(9, 'UTC')}), 3600000000000) * 3600) AS end_hour,
    -- the rollup serves whole-hour buckets over ranges holding whole hours, without a model filter
    {step_s:UInt32} % 3600 = 0 AND empty({models:Array(String)}) AND end_hour > first_hour AS use_rollup,
    if(use_rollup, end_hour, first_hour) AS last_hour
SELECT bucket, service, turns, p50_ms, p95_ms, p99_ms
FROM (
    SELECT
        toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
        ServiceName AS service,
        count() AS turns,
        quantileExactInclusive(0.5)(DurationNs) / 1e6 AS p50_ms,
        quantileExactInclusive(0.95)(DurationNs) / 1e6 AS p95_ms,
        quantileExactInclusive(0.99)(DurationNs) / 1e6 AS p99_ms
    FROM lk_turns
    WHERE NOT use_rollup
        AND Timestamp >= {start:DateTime64(9, 'UTC')} AND Timestamp < {end:DateTime64(9, 'UTC')}
        AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
        AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        AND (empty({models:Array(String)}) OR TraceId IN (
            SELECT TraceId FROM lk_requests
            WHERE Model IN {models:Array(String)}
                AND Timestamp >= {start:DateTime64(9, 'UTC')} - INTERVAL 1 DAY
                AND Timestamp < {end:DateTime64(9, 'UTC')} + INTERVAL 1 DAY))
    GROUP BY bucket, service
    UNION ALL
    SELECT
        bucket,
        service,
        toUInt64(sum(n)) AS turns,
        toFloat64(quantilesTDigestMerge(0.5, 0.95, 0.99)(d)[1]) / 1e6 AS p50_ms,
        toFloat64(quantilesTDigestMerge(0.5, 0.95, 0.99)(d)[2]) / 1e6 AS p95_ms,
        toFloat64(quantilesTDigestMerge(0.5, 0.95, 0.99)(d)[3]) / 1e6 AS p99_ms
    FROM (
        SELECT
            toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({step_s:UInt32}))) AS bucket,
            ServiceName AS service,
            sum(Turns) AS n,
            quantilesTDigestMergeState(0.5, 0.95, 0.99)(Duration) AS d
        FROM lk_turn_hours
        WHERE use_rollup
            AND Hour >= toDateTime(first_hour, 'UTC') AND Hour < toDateTime(last_hour, 'UTC')
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        GROUP BY bucket, service
        UNION ALL
        SELECT
            toUnixTimestamp(toStartOfInterval(Timestamp, toIntervalSecond({step_s:UInt32}))) AS bucket,
            ServiceName AS service,
            count() AS n,
            quantilesTDigestState(0.5, 0.95, 0.99)(DurationNs) AS d
        FROM lk_turns
        WHERE use_rollup
            AND ((Timestamp >= {start:DateTime64(9, 'UTC')}
                    AND Timestamp < least({end:DateTime64(9, 'UTC')}, toDateTime64(first_hour, 9, 'UTC')))
                OR (Timestamp >= greatest({start:DateTime64(9, 'UTC')}, toDateTime64(last_hour, 9, 'UTC'))
                    AND Timestamp < {end:DateTime64(9, 'UTC')}))
            AND (empty({services:Array(String)}) OR ServiceName IN {services:Array(String)})
            AND (empty({languages:Array(String)}) OR Language IN {languages:Array(String)})
        GROUP BY bucket, service
    )
    GROUP BY bucket, service
)
ORDER BY bucket, service
