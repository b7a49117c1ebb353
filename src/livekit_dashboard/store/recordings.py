"""Call recordings on disk: one audio file per call beside the data (the rows that describe them are in
lk_recordings). A file is written whole before its row is acknowledged (temporary name, fsync, rename,
directory fsync), so a crash leaves either no file or a complete one; files older than the retention
are deleted with their calls' spans."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

__all__ = ["RecordingFiles"]

_SUFFIX = {"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/webm": ".webm"}


class RecordingFiles:
    """The recordings folder: file names are derived from call ids (no path from a client is used)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def name_for(self, call_id: str, content_type: str) -> str:
        return hashlib.sha256(call_id.encode()).hexdigest()[:40] + _SUFFIX.get(content_type, ".bin")

    def write(self, call_id: str, content_type: str, data: bytes) -> str:
        """Store a call's audio durably (replacing an earlier upload of it); returns its file name."""
        self.root.mkdir(parents=True, exist_ok=True)
        name = self.name_for(call_id, content_type)
        tmp = self.root / f".{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.root / name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        folder = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return name

    def path(self, name: str) -> Path | None:
        """The file of a stored recording, None when it is gone (deleted by retention)."""
        if not name or "/" in name or name.startswith("."):
            return None
        found = self.root / name
        return found if found.is_file() else None

    def prune(self, keep_days: int) -> int:
        """Delete recordings (and stale temporary files) older than keep_days (0: keep forever)."""
        if keep_days <= 0 or not self.root.is_dir():
            return 0
        cutoff = time.time() - keep_days * 86400
        removed = 0
        for entry in self.root.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed
