"""Catalog: what storage says about its own tables (their current CREATE statements, their sizes)."""

from __future__ import annotations

from typing import NamedTuple

from livekit_dashboard.store.engine import Engine

__all__ = ["TableSize", "table_definition", "table_sizes"]


def table_definition(engine: Engine, table: str) -> str | None:
    """The table's CREATE statement as storage holds it now (settings and TTL included), or None."""
    rows = engine.query(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        {"t": table},
    )
    return str(rows[0]["q"]) if rows else None


class TableSize(NamedTuple):
    table: str
    bytes: int
    rows: int


def table_sizes(engine: Engine) -> list[TableSize]:
    """Each table's bytes on disk and rows (its active parts), by name."""
    rows = engine.query(
        "SELECT table, sum(bytes_on_disk) AS bytes, sum(rows) AS rows FROM system.parts "
        "WHERE active AND database = currentDatabase() GROUP BY table ORDER BY table"
    )
    return [TableSize(str(r["table"]), int(r["bytes"]), int(r["rows"])) for r in rows]
