"""Durability of stored parts: with `wal_fsync` on, ClickHouse fsyncs every part it writes (and its
directory) before an insert returns, so rows the write-ahead log has checkpointed as stored survive a
power cut too. Off by default, as in ClickHouse: parts then survive a killed process, not a power cut."""

from __future__ import annotations

from livekit_dashboard.store.catalog import table_definition
from livekit_dashboard.store.cluster import Cluster, data_table
from livekit_dashboard.store.engine import Engine
from livekit_dashboard.store.retention import retained_tables

__all__ = ["apply_durability", "fsync_statement"]

_SETTINGS = ("fsync_after_insert", "fsync_part_directory")


def apply_durability(engine: Engine, fsync: bool, cluster: Cluster | None = None) -> list[str]:
    """Turn part fsyncs on or off on every data table (on a cluster, its local tables on every node);
    returns the tables changed."""
    changed = []
    for table in retained_tables():
        definition = table_definition(engine, data_table(cluster, table))
        if definition is None or ("fsync_after_insert = 1" in definition) == fsync:
            continue
        engine.command(fsync_statement(table, fsync, cluster))
        changed.append(table)
    return changed


def fsync_statement(table: str, fsync: bool, cluster: Cluster | None = None) -> str:
    """The ALTER that turns `table`'s part fsyncs on or off (on a cluster, on the local tables of every
    node)."""
    target, on_cluster = data_table(cluster, table), cluster.clause if cluster else ""
    # DDL takes no bound parameters; table names and settings are our own constants
    if fsync:
        return f"ALTER TABLE `{target}` {on_cluster} MODIFY SETTING " + ", ".join(f"{s} = 1" for s in _SETTINGS)
    return f"ALTER TABLE `{target}` {on_cluster} RESET SETTING " + ", ".join(_SETTINGS)
