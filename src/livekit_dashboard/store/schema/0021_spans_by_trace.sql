-- note: copies every stored span into the new layout, about 10 s per million spans on 2 cores
-- The spans, laid out for reading a trace (issues 12 and 18: the call page, a trace by id, settling a
-- call). The Collector's layout sorts spans by (ServiceName, SpanName, time): one call's ~140 spans
-- lay in ~14 granules of 8,192 rows, one per span name, and a call page read 115k rows of attributes
-- to show 140 (measured at 10M spans: docs/benchmarks.md). Sorted by (ServiceName, hour, TraceId), a
-- trace's spans are neighbours, in one granule or two, and 1,024-row granules keep that read small;
-- a range of time still prunes by the hour, and the table is ~5% smaller on disk (a trace's spans are
-- alike). The panels read the derived tables, not this one.
-- Nothing a Collector writes changes: same columns, types and indexes (it runs with create_schema:
-- false, docs/scaling.md).
-- ClickHouse cannot change a table's sorting key: the spans are copied into a table of the new layout,
-- which then takes the old one's name (the materialized views reading otel_traces follow the name).
-- Re-runnable: a crash before the EXCHANGE starts the copy again; after it, the copy is made again
-- from the new table. The retention TTL and the fsync settings are set again by the next serve; the
-- deduplication window starts empty (a write-ahead log replayed after the upgrade may store a span
-- twice: every read of spans keeps one per SpanId).

DROP TABLE IF EXISTS otel_traces_next {{on_cluster}};

-- retention: none (the copy being made; it becomes otel_traces below)
CREATE TABLE IF NOT EXISTS otel_traces_next {{on_cluster}} AS otel_traces
ENGINE = {{engine}}
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, toStartOfHour(Timestamp), TraceId)
ORDER BY (ServiceName, toStartOfHour(Timestamp), TraceId, Timestamp)
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000;

INSERT INTO otel_traces_next SELECT * FROM otel_traces;

EXCHANGE TABLES otel_traces AND otel_traces_next {{on_cluster}};

DROP TABLE IF EXISTS otel_traces_next {{on_cluster}};
