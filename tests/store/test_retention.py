"""Retention as ClickHouse TTL: old rows disappear, recent ones stay, and a change applies to rows
already stored."""

from __future__ import annotations

import time

from livekit_dashboard.store import Engine, Retention, apply_durability, apply_retention
from livekit_dashboard.store.catalog import table_definition
from livekit_dashboard.store.retention import retained_tables

DAY_S = 86400


def _insert(engine: Engine, days_ago: float, name: str) -> None:
    engine.command(
        "INSERT INTO otel_traces (Timestamp, TraceId, SpanId, SpanName) "
        "VALUES (fromUnixTimestamp64Nano({ts:Int64}), {t:String}, '01', {n:String})",
        {"ts": int((time.time() - days_ago * DAY_S) * 1e9), "t": name * 8, "n": name},
    )
    engine.command(
        "INSERT INTO otel_logs (Timestamp, Body) VALUES (fromUnixTimestamp64Nano({ts:Int64}), {n:String})",
        {"ts": int((time.time() - days_ago * DAY_S) * 1e9), "n": name},
    )


def _names(engine: Engine, table: str, column: str) -> set[str]:
    engine.command(f"OPTIMIZE TABLE {table} FINAL")
    return {r["n"] for r in engine.query(f"SELECT {column} AS n FROM {table}")}


def test_ttl_drops_old_rows_and_changes_apply_to_stored_data(engine: Engine) -> None:
    _insert(engine, 70, "d70")
    _insert(engine, 40, "d40")
    _insert(engine, 1, "d01")
    changed = apply_retention(engine, Retention(traces=60, logs=30, metrics=90, usage=90))
    assert "otel_traces" in changed
    assert "otel_logs" in changed
    assert _names(engine, "otel_traces", "SpanName") == {"d40", "d01"}
    assert _names(engine, "otel_logs", "Body") == {"d01"}
    # unchanged settings change nothing; a shorter retention reaches rows already stored
    assert apply_retention(engine, Retention(traces=60, logs=30, metrics=90, usage=90)) == []
    assert "otel_traces" in apply_retention(engine, Retention(traces=30, logs=30, metrics=90, usage=90))
    assert _names(engine, "otel_traces", "SpanName") == {"d01"}
    # the derived lookup table follows its signal
    query = engine.query(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() "
        "AND name = 'otel_traces_trace_id_ts'"
    )[0]["q"]
    assert "toIntervalDay(30)" in query


def test_zero_keeps_forever(engine: Engine) -> None:
    apply_retention(engine, Retention(traces=7))
    _insert(engine, 10, "d10")
    assert _names(engine, "otel_traces", "SpanName") == set()
    apply_retention(engine, Retention(traces=0))
    _insert(engine, 10, "e10")
    assert _names(engine, "otel_traces", "SpanName") == {"e10"}
    query = engine.query(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = 'otel_traces'"
    )[0]["q"]
    assert "TTL" not in query


def test_wal_fsync_makes_every_data_table_fsync_its_parts(engine: Engine) -> None:
    changed = apply_durability(engine, True)
    assert sorted(changed) == sorted(retained_tables())
    for table in retained_tables():
        assert "fsync_after_insert = 1" in (table_definition(engine, table) or ""), table
    assert apply_durability(engine, True) == []  # a restart with the same setting changes nothing
    assert sorted(apply_durability(engine, False)) == sorted(retained_tables())
    assert "fsync_after_insert" not in (table_definition(engine, "otel_traces") or "")


def test_the_rollups_are_read_from_now_less_the_trace_retention(engine: Engine) -> None:
    """lkd_rollup_from() (where the hourly rollups are whole; fragments/hour_window.sql) is now less the
    trace retention once a server applied it, and the epoch with traces kept forever."""

    def horizon_s() -> float:
        return float(engine.query("SELECT toUnixTimestamp64Nano(lkd_rollup_from()) / 1e9 AS s")[0]["s"])

    assert horizon_s() == 0  # the migration's: every hour whole until a retention is applied
    apply_retention(engine, Retention(traces=7))
    assert abs(horizon_s() - (time.time() - 7 * DAY_S)) < 60
    apply_retention(engine, Retention(traces=0))
    assert horizon_s() == 0
