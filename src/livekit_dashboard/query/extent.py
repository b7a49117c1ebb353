"""Extent: how much telemetry is stored and when its oldest and newest items are, for the first-run
guide (nothing stored yet) and the dashboard's "latest data at …" hint (a range with nothing in it)."""

from __future__ import annotations

from typing import Any

from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["data_extent"]

_SOURCES = ("traces", "logs", "metrics")


def data_extent(engine: Engine) -> dict[str, Any]:
    """Per signal (traces, logs, metrics) the rows stored and the oldest and newest timestamps (unix
    ns; None when nothing is stored), and the same over all of them. Logs are placed to the second."""
    per: dict[str, dict[str, Any]] = {
        s: {"rows": 0, "oldest_unix_nano": None, "newest_unix_nano": None} for s in _SOURCES
    }
    for row in engine.query(load_sql("data_extent")):
        if not row["n"]:
            continue
        entry = per[row["source"]]
        entry["rows"] += int(row["n"])
        entry["oldest_unix_nano"] = _pick(min, entry["oldest_unix_nano"], int(row["oldest"]))
        entry["newest_unix_nano"] = _pick(max, entry["newest_unix_nano"], int(row["newest"]))
    oldest = [e["oldest_unix_nano"] for e in per.values() if e["rows"]]
    newest = [e["newest_unix_nano"] for e in per.values() if e["rows"]]
    return {
        "empty": not oldest,
        "oldest_unix_nano": min(oldest) if oldest else None,
        "newest_unix_nano": max(newest) if newest else None,
        "signals": per,
    }


def _pick(choose: Any, current: int | None, value: int) -> int:
    return value if current is None else int(choose(current, value))
