"""Free disk space: ingest refuses new requests (503) while the volume of the data directory or of
the write-ahead log has less free space than the configured minimum, before the disk is full, and
takes them again by itself when space returns."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["DiskSpace"]


def _mib(num_bytes: int) -> str:
    return f"{num_bytes / 2**20:,.0f} MiB"


class DiskSpace:
    """Whether every watched path's volume has at least `min_free_bytes` free (checked at most once
    per `interval_s`: statvfs costs microseconds, but ingest asks on every request)."""

    def __init__(
        self,
        paths: Sequence[Path],
        min_free_bytes: int,
        *,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        statvfs: Callable[[Path], os.statvfs_result] = os.statvfs,
    ) -> None:
        self._paths = list(dict.fromkeys(paths))
        self._min_free_bytes = min_free_bytes
        self._interval_s = interval_s
        self._clock = clock
        self._statvfs = statvfs
        self._lock = threading.Lock()
        self._checked_at = -float("inf")
        self._problem: str | None = None

    def free_bytes(self) -> dict[str, int]:
        """Free bytes (for unprivileged writers) of each watched path's volume."""
        out = {}
        for path in self._paths:
            try:
                st = self._statvfs(path)
            except OSError:
                continue  # not created yet: its parent is what gets written first
            out[str(path)] = st.f_bavail * st.f_frsize
        return out

    def problem(self) -> str | None:
        """Why ingest should refuse (too little free space), or None."""
        if self._min_free_bytes <= 0:
            return None
        now = self._clock()
        with self._lock:
            if now - self._checked_at < self._interval_s:
                return self._problem
            self._checked_at = now
            self._problem = None
            for path, free in self.free_bytes().items():
                if free < self._min_free_bytes:
                    self._problem = (
                        f"disk almost full: {_mib(free)} free on the volume of {path}, below min_free_disk_mb "
                        f"({_mib(self._min_free_bytes)}); ingest resumes by itself once space is freed"
                    )
                    break
            return self._problem
