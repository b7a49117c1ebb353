-- fragment: trace_log_window
-- A log record (otel_logs) of the trace, looked up in the trace's time span (trace_window.sql: start_s, end_s in unix seconds) a minute either side; anywhere when the trace has no spans (both 0).
-- The same bounds on TimestampTime (toDateTime(Timestamp): the table's partition and primary key) let ClickHouse prune by partition and primary key; bounds on Timestamp alone pruned neither (at 10M spans: 3 granules of 1 part read instead of 124 of 61, docs/benchmarks.md).
-- params: trace_id String, trace_start_s Int64, trace_end_s Int64
TraceId = {trace_id:String}
    AND ({trace_start_s:Int64} = 0
        OR (Timestamp >= toDateTime64({trace_start_s:Int64} - 60, 9, 'UTC')
            AND Timestamp < toDateTime64({trace_end_s:Int64} + 61, 9, 'UTC')
            AND TimestampTime >= toDateTime({trace_start_s:Int64} - 60, 'UTC')
            AND TimestampTime < toDateTime({trace_end_s:Int64} + 61, 'UTC')))
