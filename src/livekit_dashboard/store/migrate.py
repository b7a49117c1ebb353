"""Migrations: apply store/schema/NNNN_*.sql once each, recorded in a ledger table.

ClickHouse DDL is not transactional, so every statement is written to be re-runnable
(IF NOT EXISTS) and the ledger row is written only after all of a file's statements succeed:
a crash half-way re-applies the file, harmlessly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from livekit_dashboard.store.cluster import Cluster
from livekit_dashboard.store.engine import Engine, StorageError

__all__ = ["Migration", "Slots", "apply_migrations", "list_migrations", "render_ddl"]

_LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS livekit_dashboard_migrations {{on_cluster}} (
    version UInt32,
    name String,
    applied_at DateTime64(3) DEFAULT now64(3)
) ENGINE = MergeTree ORDER BY version
"""
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_SLOT = re.compile(r"\{\{([a-z_]+)\}\}")
# a file's first line may say what applying it costs (a copy of every span): shown before it runs
_NOTE = re.compile(r"-- note: (.+)")


@dataclass(frozen=True, slots=True)
class Slots:
    """The structural parts of DDL that differ between deployments (nothing else is templated). On a
    cluster, each statement is also rewritten for the local/Distributed layout (store/cluster.py)."""

    engine: str = "MergeTree"
    aggregating_engine: str = "AggregatingMergeTree"
    replacing_engine: str = "ReplacingMergeTree"
    cluster: Cluster | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def note(self) -> str:
        """What applying it costs, when that is more than a moment ("" otherwise)."""
        match = _NOTE.match(self.sql)
        return match.group(1) if match else ""

    def __str__(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def announcement(self) -> str:
        """What `migrate` and `serve` say before applying it: its name, and its cost when it has one."""
        return f"{self} ({self.note})" if self.note else str(self)


def list_migrations() -> list[Migration]:
    """The schema files shipped with the package, in version order."""
    found = []
    for entry in resources.files("livekit_dashboard.store").joinpath("schema").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def render_ddl(sql: str, slots: Slots) -> list[str]:
    """Fill the whitelisted slots and split a schema file into statements."""
    values = {
        "engine": slots.engine,
        "aggregating_engine": slots.aggregating_engine,
        "replacing_engine": slots.replacing_engine,
        "on_cluster": slots.cluster.clause if slots.cluster else "",
    }

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise StorageError(f"unknown DDL slot {{{{{key}}}}}")
        return values[key]

    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    statements = [stmt.strip() for stmt in _SLOT.sub(fill, body).split(";") if stmt.strip()]
    if slots.cluster is None:
        return statements
    return [out for statement in statements for out in slots.cluster.render(statement)]


def apply_migrations(
    engine: Engine, cluster: Cluster | None = None, on_apply: Callable[[Migration], None] | None = None
) -> list[Migration]:
    """Apply every migration not yet in the ledger (laid out for `cluster` when given), telling `on_apply`
    before each; returns the ones applied now."""
    slots = Slots(cluster=cluster)
    for statement in [*(cluster.bootstrap() if cluster else []), *render_ddl(_LEDGER_DDL, slots)]:
        engine.command(statement)
    done = {int(row["version"]) for row in engine.query("SELECT version FROM livekit_dashboard_migrations")}
    applied = []
    for migration in list_migrations():
        if migration.version in done:
            continue
        if on_apply is not None:
            on_apply(migration)
        for statement in render_ddl(migration.sql, slots):
            engine.command(statement)
        engine.command(
            "INSERT INTO livekit_dashboard_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
            {"v": migration.version, "n": migration.name},
        )
        applied.append(migration)
    return applied
