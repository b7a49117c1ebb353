"""Storage: the only package that talks to ClickHouse (embedded chDB or a server)."""

from livekit_dashboard.store.api_keys import ApiKey, KeyStore, is_generated_key, new_key
from livekit_dashboard.store.catalog import ENGINE_MEMORY, TableSize, engine_memory, table_sizes
from livekit_dashboard.store.cluster import Cluster
from livekit_dashboard.store.durability import apply_durability
from livekit_dashboard.store.engine import (
    DataDirInUseError,
    Engine,
    StorageError,
    chdb_path,
    open_engine,
)
from livekit_dashboard.store.key_inbox import KeyInbox
from livekit_dashboard.store.migrate import Migration, apply_migrations
from livekit_dashboard.store.monitor import StorageMonitor
from livekit_dashboard.store.probe import probe_writes
from livekit_dashboard.store.recordings import RecordingFiles
from livekit_dashboard.store.retention import Retention, apply_retention
from livekit_dashboard.store.trace_decode import TraceDecoder
from livekit_dashboard.store.transfer import export_store, import_store

__all__ = [
    "ENGINE_MEMORY",
    "ApiKey",
    "Cluster",
    "DataDirInUseError",
    "Engine",
    "KeyInbox",
    "KeyStore",
    "Migration",
    "RecordingFiles",
    "Retention",
    "StorageError",
    "StorageMonitor",
    "TableSize",
    "TraceDecoder",
    "apply_durability",
    "apply_migrations",
    "apply_retention",
    "chdb_path",
    "engine_memory",
    "export_store",
    "import_store",
    "is_generated_key",
    "new_key",
    "open_engine",
    "probe_writes",
    "table_sizes",
]
