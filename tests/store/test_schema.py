"""The raw tables are the OpenTelemetry Collector ClickHouse exporter's schema (names and types), and
migrations are idempotent and recorded in the ledger."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import livekit_dashboard
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.query.calls import CallSearch
from livekit_dashboard.query.lookup import trace_window
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine, Retention, StorageError, apply_migrations, apply_retention
from livekit_dashboard.store import tables as schemas
from livekit_dashboard.store.migrate import Slots, list_migrations, render_ddl
from livekit_dashboard.store.retention import retained_tables
from tests.helpers import make_spans

MAP = "Map(LowCardinality(String), String)"
DT = "DateTime64(9)"
_METRIC_COMMON = [
    ("ResourceAttributes", MAP),
    ("ResourceSchemaUrl", "String"),
    ("ScopeName", "String"),
    ("ScopeVersion", "String"),
    ("ScopeAttributes", MAP),
    ("ScopeDroppedAttrCount", "UInt32"),
    ("ScopeSchemaUrl", "String"),
    ("ServiceName", "LowCardinality(String)"),
    ("MetricName", "String"),
    ("MetricDescription", "String"),
    ("MetricUnit", "String"),
    ("Attributes", MAP),
    ("StartTimeUnix", DT),
    ("TimeUnix", DT),
]
_EXEMPLARS = [
    ("Exemplars.FilteredAttributes", f"Array({MAP})"),
    ("Exemplars.TimeUnix", f"Array({DT})"),
    ("Exemplars.Value", "Array(Float64)"),
    ("Exemplars.SpanId", "Array(String)"),
    ("Exemplars.TraceId", "Array(String)"),
]
# Written out from the Collector exporter's CREATE TABLE statements (flattened Nested columns)
COLLECTOR_SCHEMA: dict[str, list[tuple[str, str]]] = {
    "otel_traces": [
        ("Timestamp", DT),
        ("TraceId", "String"),
        ("SpanId", "String"),
        ("ParentSpanId", "String"),
        ("TraceState", "String"),
        ("SpanName", "LowCardinality(String)"),
        ("SpanKind", "LowCardinality(String)"),
        ("ServiceName", "LowCardinality(String)"),
        ("ResourceAttributes", MAP),
        ("ScopeName", "String"),
        ("ScopeVersion", "String"),
        ("SpanAttributes", MAP),
        ("Duration", "UInt64"),
        ("StatusCode", "LowCardinality(String)"),
        ("StatusMessage", "String"),
        ("Events.Timestamp", f"Array({DT})"),
        ("Events.Name", "Array(LowCardinality(String))"),
        ("Events.Attributes", f"Array({MAP})"),
        ("Links.TraceId", "Array(String)"),
        ("Links.SpanId", "Array(String)"),
        ("Links.TraceState", "Array(String)"),
        ("Links.Attributes", f"Array({MAP})"),
    ],
    "otel_traces_trace_id_ts": [
        ("TraceId", "String"),
        ("Start", "SimpleAggregateFunction(min, DateTime)"),
        ("End", "SimpleAggregateFunction(max, DateTime)"),
    ],
    "otel_logs": [
        ("Timestamp", DT),
        ("TimestampTime", "DateTime"),
        ("TraceId", "String"),
        ("SpanId", "String"),
        ("TraceFlags", "UInt8"),
        ("SeverityText", "LowCardinality(String)"),
        ("SeverityNumber", "UInt8"),
        ("ServiceName", "LowCardinality(String)"),
        ("Body", "String"),
        ("ResourceSchemaUrl", "LowCardinality(String)"),
        ("ResourceAttributes", MAP),
        ("ScopeSchemaUrl", "LowCardinality(String)"),
        ("ScopeName", "String"),
        ("ScopeVersion", "LowCardinality(String)"),
        ("ScopeAttributes", MAP),
        ("LogAttributes", MAP),
        ("EventName", "String"),
    ],
    "otel_metrics_gauge": [*_METRIC_COMMON, ("Value", "Float64"), ("Flags", "UInt32"), *_EXEMPLARS],
    "otel_metrics_sum": [
        *_METRIC_COMMON,
        ("Value", "Float64"),
        ("Flags", "UInt32"),
        *_EXEMPLARS,
        ("AggregationTemporality", "Int32"),
        ("IsMonotonic", "Bool"),
    ],
    "otel_metrics_histogram": [
        *_METRIC_COMMON,
        ("Count", "UInt64"),
        ("Sum", "Float64"),
        ("BucketCounts", "Array(UInt64)"),
        ("ExplicitBounds", "Array(Float64)"),
        *_EXEMPLARS,
        ("Flags", "UInt32"),
        ("Min", "Float64"),
        ("Max", "Float64"),
        ("AggregationTemporality", "Int32"),
    ],
    "otel_metrics_exponential_histogram": [
        *_METRIC_COMMON,
        ("Count", "UInt64"),
        ("Sum", "Float64"),
        ("Scale", "Int32"),
        ("ZeroCount", "UInt64"),
        ("PositiveOffset", "Int32"),
        ("PositiveBucketCounts", "Array(UInt64)"),
        ("NegativeOffset", "Int32"),
        ("NegativeBucketCounts", "Array(UInt64)"),
        *_EXEMPLARS,
        ("Flags", "UInt32"),
        ("Min", "Float64"),
        ("Max", "Float64"),
        ("AggregationTemporality", "Int32"),
    ],
    "otel_metrics_summary": [
        *_METRIC_COMMON,
        ("Count", "UInt64"),
        ("Sum", "Float64"),
        ("ValueAtQuantiles.Quantile", "Array(Float64)"),
        ("ValueAtQuantiles.Value", "Array(Float64)"),
        ("Flags", "UInt32"),
    ],
}


@pytest.mark.parametrize("table", sorted(COLLECTOR_SCHEMA))
def test_tables_match_the_collector_schema(engine: Engine, table: str) -> None:
    rows = engine.query(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {t:String} "
        "ORDER BY position",
        {"t": table},
    )
    assert [(r["name"], r["type"]) for r in rows] == COLLECTOR_SCHEMA[table]


def test_trace_id_lookup_is_filled_by_its_materialized_view(engine: Engine) -> None:
    engine.command(
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName) VALUES "
        "('2026-01-01 10:00:00.5', 'aa', '01', 'a'), ('2026-01-01 10:00:07.9', 'aa', '02', 'b')"
    )
    rows = engine.query(
        "SELECT TraceId, toString(min(Start)) AS s, toString(max(End)) AS e "
        "FROM otel_traces_trace_id_ts GROUP BY TraceId"
    )
    assert rows == [{"TraceId": "aa", "s": "2026-01-01 10:00:00", "e": "2026-01-01 10:00:07"}]


def test_migrations_are_recorded_and_idempotent(engine: Engine) -> None:
    ledger = engine.query("SELECT version, name FROM livekit_dashboard_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in ledger] == [(m.version, m.name) for m in list_migrations()]
    assert apply_migrations(engine) == []
    # a crash after the DDL but before the ledger row: the file is applied again, harmlessly
    engine.command("TRUNCATE TABLE livekit_dashboard_migrations")
    assert [m.version for m in apply_migrations(engine)] == [m.version for m in list_migrations()]
    assert engine.query("SELECT count() AS n FROM livekit_dashboard_migrations")[0]["n"] == len(list_migrations())


def test_render_ddl_fills_only_whitelisted_slots() -> None:
    statements = render_ddl("CREATE TABLE t {{on_cluster}} (a UInt8) ENGINE = {{engine}};", Slots(engine="Log"))
    assert statements == ["CREATE TABLE t  (a UInt8) ENGINE = Log"]  # one node: no ON CLUSTER
    with pytest.raises(StorageError, match="unknown DDL slot"):
        render_ddl("SELECT {{database}}", Slots())
    with pytest.raises(StorageError, match="unknown DDL slot"):
        render_ddl("CREATE TABLE t (a UInt8) ENGINE = MergeTree {{ttl}}", Slots())  # retention owns TTL


# tables the schema files annotate `-- retention: none (why)` (keys, health probes, the queue of calls
# to settle), and the migration ledger
_BOOKKEEPING = {"livekit_dashboard_migrations"} | {
    table
    for migration in list_migrations()
    for table in re.findall(r"^-- retention: none.*\nCREATE TABLE IF NOT EXISTS (\w+)", migration.sql, re.MULTILINE)
}


def _data_tables(engine: Engine) -> dict[str, str]:
    rows = engine.query(
        "SELECT name, create_table_query AS q FROM system.tables "
        "WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
    )
    return {r["name"]: r["q"] for r in rows if r["name"] not in _BOOKKEEPING}


def test_every_data_table_has_a_retention_and_a_deduplication_window(engine: Engine) -> None:
    """The schema files are the single source: every table that holds telemetry or data derived from
    it is covered by a retention setting (its `-- retention:` annotation), and keeps the deduplication
    window that makes a retried batch count once."""
    tables = _data_tables(engine)
    assert len(tables) >= 20
    assert sorted(retained_tables()) == sorted(tables)
    for name, ddl in tables.items():
        assert "non_replicated_deduplication_window = 1000" in ddl, name
    apply_retention(engine, Retention(traces=30, logs=30, metrics=90, usage=90))
    for name, ddl in _data_tables(engine).items():
        assert " TTL " in ddl, name


@pytest.mark.parametrize(
    ("table", "schema"),
    [
        ("otel_traces", schemas.TRACES),
        ("otel_logs", schemas.LOGS),
        ("otel_metrics_gauge", schemas.METRICS_GAUGE),
        ("otel_metrics_sum", schemas.METRICS_SUM),
        ("otel_metrics_histogram", schemas.METRICS_HISTOGRAM),
        ("otel_metrics_exponential_histogram", schemas.METRICS_EXP_HISTOGRAM),
        ("otel_metrics_summary", schemas.METRICS_SUMMARY),
        ("lk_usage_posted", schemas.USAGE_POSTED),
    ],
)
def test_insert_schemas_match_the_tables(engine: Engine, table: str, schema: Any) -> None:
    """The Arrow schemas ingest writes with name every column the table has (defaults aside), in a
    type that inserts: one empty row of each inserts and reads back."""
    columns = {
        r["name"]: r["default_kind"]
        for r in engine.query(
            "SELECT name, default_kind FROM system.columns WHERE database = currentDatabase() AND table = {t:String}",
            {"t": table},
        )
    }
    assert set(schema.names) == {name for name, kind in columns.items() if kind == ""}
    engine.insert_arrow(table, schema.empty_table())


def test_a_migration_rerun_after_a_crash_does_not_double_the_rollups(engine: Engine) -> None:
    """A crash during a rollup backfill re-runs its migration: the rollups must come out the same."""
    spans = prepare_spans(encode_spans(make_spans(n_turns=3))).tables["otel_traces"]
    engine.insert_arrow("otel_traces", spans)
    before = engine.query("SELECT sum(Requests) AS r, sum(InputTokens) AS i FROM lk_request_hours")
    assert before == [{"r": 3, "i": 100 + 101 + 102}]
    engine.command("ALTER TABLE livekit_dashboard_migrations DELETE WHERE version >= 7 SETTINGS mutations_sync = 1")
    assert [m.version for m in apply_migrations(engine)] == [v for v in range(7, len(list_migrations()) + 1)]
    assert engine.query("SELECT sum(Requests) AS r, sum(InputTokens) AS i FROM lk_request_hours") == before
    assert engine.query("SELECT sum(Turns) AS t FROM lk_turn_hours") == [{"t": 3}]
    assert engine.query("SELECT sum(Spans) AS s FROM lk_span_minutes") == [{"s": len(spans)}]


def test_storage_errors_are_wrapped(engine: Engine) -> None:
    with pytest.raises(StorageError, match=r"UNKNOWN_TABLE|doesn't exist|does not exist"):
        engine.query("SELECT * FROM no_such_table")


NASTY = ["x'y", "b\\c", "t\tz", "n\nl", "b\\tz", "ü🙂", "{a:String}", "\\'); DROP TABLE otel_traces; --", ""]


@pytest.mark.parametrize("value", NASTY)
def test_string_parameters_arrive_verbatim(engine: Engine, value: str) -> None:
    assert engine.query("SELECT {v:String} AS v, lengthUTF8({v:String}) AS n", {"v": value}) == [
        {"v": value, "n": len(value)}
    ]


def test_array_parameters_arrive_verbatim(engine: Engine) -> None:
    rows = engine.query("SELECT {a:Array(String)} AS a, length({a:Array(String)}) AS n", {"a": NASTY})
    assert rows == [{"a": NASTY, "n": len(NASTY)}]
    assert engine.query("SELECT {a:Array(String)} AS a", {"a": []}) == [{"a": []}]
    assert engine.query("SELECT count() AS n FROM otel_traces") == [{"n": 0}]


def _granules_read(engine: Engine, sql: str, params: dict[str, Any]) -> int:
    plan = "\n".join(r["explain"] for r in engine.query(f"EXPLAIN indexes = 1 {sql}", params))
    return sum(int(n) for n in re.findall(r"Parts: \d+ \| Granules: (\d+)", plan))


def test_a_trace_is_read_from_one_place_and_the_upgrade_keeps_every_span(engine: Engine) -> None:
    """Migration 0021 lays the spans out by trace: a call's spans (here 100 of 10 names, among 100,000
    spans of the same hour) are read from one or two granules, not one per span name; the copy keeps
    every span, and the views go on deriving from new spans."""
    # 1,000 calls one after another, each of 100 spans of 10 names over 3 s
    engine.command(
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName, ServiceName) "
        "SELECT toDateTime64('2026-01-01 10:00:00', 9) + toIntervalMillisecond(number * 30), "
        "hex(MD5(toString(intDiv(number, 100)))), hex(MD5(toString(number))), "
        "concat('span_', toString(number % 10)), 'agent' FROM numbers(100000)"
    )
    spans = "SELECT count() AS n, sum(cityHash64(SpanId, TraceId, SpanName)) AS h FROM otel_traces"
    stored = engine.query(spans)
    trace = trace_window(engine, engine.query("SELECT hex(MD5('7')) AS t")[0]["t"])
    assert len(engine.query(load_sql("call_spans"), trace)) == 100
    assert _granules_read(engine, load_sql("call_spans"), trace) <= 2
    # the upgrade from 0020 (the crash re-run takes the same path): every span kept, once
    engine.command("ALTER TABLE livekit_dashboard_migrations DELETE WHERE version = 21 SETTINGS mutations_sync = 1")
    assert [str(m) for m in apply_migrations(engine)] == ["0021_spans_by_trace"]
    assert engine.query(spans) == stored
    key = engine.query(
        "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'otel_traces'"
    )
    assert key == [{"sorting_key": "ServiceName, toStartOfHour(Timestamp), TraceId, Timestamp"}]
    before = engine.query("SELECT sum(Spans) AS s FROM lk_span_minutes")[0]["s"]
    engine.insert_arrow("otel_traces", prepare_spans(encode_spans(make_spans(n_turns=1))).tables["otel_traces"])
    assert engine.query("SELECT sum(Spans) AS s FROM lk_span_minutes")[0]["s"] > before


def test_a_search_by_words_skips_the_calls_that_cannot_hold_them(engine: Engine) -> None:
    """Migration 0022's bloom filter over each 128-call granule's words: a word said on one call of
    1,280 reads that call's granule, not all ten."""
    engine.command(
        "INSERT INTO lk_call_records (call_id, trace_id, started_at, settled_at, words) "
        "SELECT concat('call-', toString(number)), hex(MD5(toString(number))), "
        "toDateTime64('2026-01-01 10:00:00', 9) + toIntervalSecond(number), now64(3), "
        "['hello', 'booking', concat('w', toString(number)), if(number = 700, 'zeppelin', 'email')] "
        "FROM numbers(1280)"
    )
    search = CallSearch(start_ns=1767261600 * 10**9, end_ns=1767348000 * 10**9, q="Zeppelin")
    assert [row["call_id"] for row in engine.query(load_sql("call_list"), search.values(words=True))] == ["call-700"]
    assert _granules_read(engine, load_sql("call_list"), search.values(words=True)) < 10
    # the filter only skips: a common word still finds every call
    common = CallSearch(start_ns=search.start_ns, end_ns=search.end_ns, q="booking email", limit=5)
    assert engine.query(load_sql("call_list"), common.values(words=True))[0]["total"] == 1279


def test_every_table_a_materialized_view_fills_is_read(engine: Engine) -> None:
    """A materialized view runs on every insert into its source and writes a part per insert: one whose
    table nothing reads costs ingest CPU, merges and disk for nothing (lk_call_turns did, until schema
    0026). A table counts as read when a query file or the server's code names it, or when a view (a
    materialized one that feeds another table, or a plain one the queries use) selects from it."""
    package = Path(livekit_dashboard.__file__).parent
    # (comments do not read: `--` lines of the SQL files, `#` comments of the code)
    code = [re.sub(r"(?m)^\s*--.*$", "", p.read_text()) for p in (package / "query" / "sql").glob("*.sql")]
    code += [re.sub(r"#.*", "", p.read_text()) for p in package.rglob("*.py") if p.name != "cluster.py"]
    views = engine.query(
        "SELECT name, engine, create_table_query AS q FROM system.tables "
        "WHERE database = currentDatabase() AND engine IN ('MaterializedView', 'View')"
    )
    assert len(views) >= 20
    targets = {m.group(1).split(".")[-1] for v in views if (m := re.search(r"\bTO (\S+)", v["q"]))}
    assert {"lk_turns", "lk_call_touch", "otel_traces_trace_id_ts"} <= targets
    unread = []
    for table in sorted(targets):
        named = re.compile(rf"\b{table}\b")
        selected = [v["name"] for v in views if re.search(rf"\bFROM (\w+\.)?{table}\b", v["q"])]
        if not selected and not any(named.search(text) for text in code):
            unread.append(table)
    assert unread == [], f"tables filled by materialized views that nothing reads: {unread}"
