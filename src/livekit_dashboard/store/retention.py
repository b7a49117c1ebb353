"""Retention: how long each signal is kept, applied as ClickHouse TTL on its tables.

Changing a retention rewrites the tables' TTL (ALTER ... MODIFY TTL), which also applies to rows
already stored; unchanged ones are left alone, so a restart costs nothing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from livekit_dashboard.store.catalog import table_definition
from livekit_dashboard.store.cluster import Cluster, data_table
from livekit_dashboard.store.engine import Engine
from livekit_dashboard.store.migrate import list_migrations

__all__ = ["Retention", "apply_retention", "retained_tables", "rollup_horizon_statement", "ttl_statement"]

# in store/schema/*.sql every CREATE TABLE is preceded by `-- retention: <signal> <TTL column>` (or
# `-- retention: none (why)`), so a new table cannot be forgotten here
_ANNOTATION = re.compile(r"^-- retention: (\w+)(?: (.+))?\nCREATE TABLE IF NOT EXISTS (\w+)", re.MULTILINE)
_DROP = re.compile(r"^DROP TABLE IF EXISTS (\w+)", re.MULTILINE)
_SIGNALS = ("traces", "logs", "metrics", "usage")


@functools.cache
def retained_tables() -> dict[str, tuple[str, str]]:
    """table -> (signal, the DateTime expression its TTL counts from), from the schema files."""
    out: dict[str, tuple[str, str]] = {}
    for migration in list_migrations():
        # in the file's order: a table a later statement drops is no longer retained
        events = [(m.start(), m.groups()) for m in _ANNOTATION.finditer(migration.sql)]
        events += [(m.start(), ("drop", None, m.group(1))) for m in _DROP.finditer(migration.sql)]
        for _, (signal, column, table) in sorted(events):
            if signal == "drop":
                out.pop(table, None)
                continue
            if signal == "none":
                continue
            if signal not in _SIGNALS or not column:
                raise ValueError(f"{migration.name}: bad retention annotation for {table}: {signal} {column}")
            out[table] = (signal, column)
    return out


_TTL = re.compile(r"\bTTL\b.*?toIntervalDay\((\d+)\)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Retention:
    """Days to keep each signal; 0 keeps it forever."""

    traces: int = 30
    logs: int = 30
    metrics: int = 90
    usage: int = 90


def _current_days(engine: Engine, table: str) -> int:
    definition = table_definition(engine, table)
    if definition is None:
        return -1
    match = _TTL.search(definition)
    return int(match.group(1)) if match else 0


def apply_retention(engine: Engine, retention: Retention, cluster: Cluster | None = None) -> list[str]:
    """Set each table's TTL to its signal's retention (on a cluster, its local tables on every node);
    returns the tables changed."""
    changed = []
    for table, (signal, column) in retained_tables().items():
        days = int(getattr(retention, signal))
        if days < 0:
            raise ValueError(f"retention for {signal} must be 0 (forever) or more days, got {days}")
        current = _current_days(engine, data_table(cluster, table))
        if current == -1 or current == days:
            continue
        engine.command(ttl_statement(table, column, days, cluster))
        changed.append(table)
    # the rollups expire hour by hour and the raw rows by whole days: the panels read raw what the
    # rollups may have lost (schema/0023_rollup_horizon.sql)
    engine.command(rollup_horizon_statement(retention.traces, cluster))
    return changed


def rollup_horizon_statement(trace_days: int, cluster: Cluster | None = None) -> str:
    """The definition of lkd_rollup_from(): the oldest instant from which the hourly rollups (kept as
    long as traces) are whole, now less `trace_days` (0: forever, every hour is whole)."""
    on_cluster = cluster.clause if cluster else ""
    since = "toDateTime64(0, 9, 'UTC')" if trace_days == 0 else f"now64(9, 'UTC') - toIntervalDay({int(trace_days)})"
    return f"CREATE OR REPLACE FUNCTION lkd_rollup_from {on_cluster} AS () -> {since}"


def ttl_statement(table: str, column: str, days: int, cluster: Cluster | None = None) -> str:
    """The ALTER that keeps `table`'s rows `days` days from `column` (0: forever), on the table that holds
    the rows (on a cluster, the local tables of every node)."""
    target, on_cluster = data_table(cluster, table), cluster.clause if cluster else ""
    if days == 0:
        return f"ALTER TABLE `{target}` {on_cluster} REMOVE TTL"
    # DDL cannot take bound parameters; both parts are our own constants and an int
    return f"ALTER TABLE `{target}` {on_cluster} MODIFY TTL {column} + toIntervalDay({days})"
