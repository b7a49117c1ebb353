"""Catalog: what storage says about its own tables (their current CREATE statements, their sizes) and
about the memory it holds (its caches, its tracked total)."""

from __future__ import annotations

from typing import NamedTuple

from livekit_dashboard.store.engine import Engine, StorageError

__all__ = ["ENGINE_MEMORY", "TableSize", "engine_memory", "table_definition", "table_sizes"]


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


# what the engine reports of its own memory (system.metrics), by the name the metrics endpoint uses
ENGINE_MEMORY = {
    "tracked": "MemoryTracking",  # everything the engine's allocator accounts for, its caches included
    "uncompressed_cache": "UncompressedCacheBytes",  # decompressed blocks kept for re-reads (read_cache_mb)
    "mark_cache": "MarkCacheBytes",  # the parts' marks, kept for every read
}


def engine_memory(engine: Engine) -> dict[str, int]:
    """Bytes the engine holds now, by ENGINE_MEMORY's names; those the engine does not report are left out
    (an older ClickHouse server, or a user not allowed to read system.metrics: then none)."""
    names = {v: k for k, v in ENGINE_MEMORY.items()}
    try:
        rows = engine.query(
            "SELECT metric AS m, value AS v FROM system.metrics WHERE metric IN {names:Array(String)}",
            {"names": list(names)},
        )
    except StorageError:  # a server that does not let this user read it: the scrape goes on without
        return {}
    return {names[str(r["m"])]: max(0, int(r["v"])) for r in rows}
