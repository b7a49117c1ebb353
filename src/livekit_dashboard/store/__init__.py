"""Storage: the only package that talks to ClickHouse (embedded chDB or a server)."""

from livekit_dashboard.store.api_keys import ROLES, ApiKey, KeyStore
from livekit_dashboard.store.engine import (
    DataDirInUseError,
    Engine,
    StorageError,
    chdb_path,
    open_engine,
)
from livekit_dashboard.store.migrate import apply_migrations
from livekit_dashboard.store.retention import Retention, apply_retention

__all__ = [
    "ROLES",
    "ApiKey",
    "DataDirInUseError",
    "Engine",
    "KeyStore",
    "Retention",
    "StorageError",
    "apply_migrations",
    "apply_retention",
    "chdb_path",
    "open_engine",
]
