"""What `livekit-dashboard export` and `import` do around store.transfer: open the storage the
settings name (laid out for their cluster, if any), print progress on stderr, and say in one line what
moved. A failure is a TransferCommandError with the message to show."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from livekit_dashboard import __version__
from livekit_dashboard.config import Settings
from livekit_dashboard.store import Engine, StorageError, export_store, import_store

__all__ = ["TransferCommandError", "TransferProgress", "run_export", "run_import"]


class TransferCommandError(Exception):
    """An export or import that failed, with what to tell the user."""


class TransferProgress:
    """Progress lines on stderr: each table when done, and every few seconds while a long one runs."""

    def __init__(self, verb: str, every_s: float = 3.0) -> None:
        self._verb, self._every_s, self._last = verb, every_s, 0.0

    def __call__(self, table: str, rows: int, size: int, seconds: float, done: bool) -> None:
        if not done and time.monotonic() - self._last < self._every_s:
            return
        self._last = time.monotonic()
        mb = size / 1e6
        rate = f" ({mb / seconds:.1f} MB/s)" if seconds > 0 and rows else ""
        state = "" if done else " ..."
        print(f"{self._verb} {table}: {rows:,} rows, {mb:.1f} MB in {seconds:.1f} s{rate}{state}", file=sys.stderr)


def _open(settings: Settings) -> Engine:
    try:
        return settings.open_storage()
    except StorageError as exc:
        raise TransferCommandError(str(exc)) from None


def run_export(settings: Settings, out: Path) -> str:
    """Export the store the settings name to `out`; the summary line."""
    engine = _open(settings)
    try:
        manifest = export_store(
            engine,
            out,
            tool_version=__version__,
            recordings_dir=settings.recordings_dir(),
            progress=TransferProgress("export"),
        )
    except (StorageError, OSError) as exc:
        raise TransferCommandError(str(exc)) from None
    finally:
        engine.close()
    rows = sum(t.rows for t in manifest.tables)
    return (
        f"exported {rows:,} rows from {len(manifest.tables)} tables and {len(manifest.recordings)} recordings "
        f"(schema {manifest.schema_version:04d}) to {out}"
    )


def run_import(settings: Settings, folder: Path, *, append: bool) -> str:
    """Import an export folder into the store the settings name; the summary line."""
    engine = _open(settings)
    try:
        result = import_store(
            engine,
            folder,
            recordings_dir=settings.recordings_dir(),
            append=append,
            progress=TransferProgress("import"),
            cluster=settings.storage_cluster(),
        )
    except (StorageError, OSError) as exc:
        raise TransferCommandError(str(exc)) from None
    finally:
        engine.close()
    return (
        f"imported {sum(result.rows.values()):,} rows into {len(result.rows)} tables and {result.recordings} "
        f"recordings into {settings.database} ({result.manifest.export_id})"
    )
