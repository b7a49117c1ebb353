"""Storage: the only package that talks to ClickHouse (embedded chDB or a server)."""

from livekit_dashboard.store.engine import (
    DataDirInUseError,
    Engine,
    StorageError,
    open_engine,
)
from livekit_dashboard.store.migrate import apply_migrations

__all__ = ["DataDirInUseError", "Engine", "StorageError", "apply_migrations", "open_engine"]
