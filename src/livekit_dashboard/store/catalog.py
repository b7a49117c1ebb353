"""Catalog: what storage says about its own tables (their current CREATE statements)."""

from __future__ import annotations

from livekit_dashboard.store.engine import Engine

__all__ = ["table_definition"]


def table_definition(engine: Engine, table: str) -> str | None:
    """The table's CREATE statement as storage holds it now (settings and TTL included), or None."""
    rows = engine.query(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        {"t": table},
    )
    return str(rows[0]["q"]) if rows else None
