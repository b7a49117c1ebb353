"""Write probe: whether storage takes writes right now (a row in livekit_dashboard_health)."""

from __future__ import annotations

from livekit_dashboard.store.engine import Engine

__all__ = ["probe_writes"]


def probe_writes(engine: Engine) -> None:
    """Write one row; StorageError when storage refuses it."""
    engine.command("INSERT INTO livekit_dashboard_health VALUES (now64(3))")
