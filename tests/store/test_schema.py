"""The raw tables are the OpenTelemetry Collector ClickHouse exporter's schema (names and types), and
migrations are idempotent and recorded in the ledger."""

from __future__ import annotations

import pytest

from livekit_dashboard.store import Engine, StorageError, apply_migrations
from livekit_dashboard.store.migrate import Slots, list_migrations, render_ddl

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
    statements = render_ddl(
        "CREATE TABLE t {{on_cluster}} (a UInt8) ENGINE = {{engine}} {{ttl}};",
        Slots(engine="ReplicatedMergeTree", on_cluster="ON CLUSTER c", ttl="TTL toDate(a) + 1"),
    )
    assert statements == ["CREATE TABLE t ON CLUSTER c (a UInt8) ENGINE = ReplicatedMergeTree TTL toDate(a) + 1"]
    with pytest.raises(StorageError, match="unknown DDL slot"):
        render_ddl("SELECT {{database}}", Slots())


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
