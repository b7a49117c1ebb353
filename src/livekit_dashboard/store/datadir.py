"""The embedded engine's data directories in this process: the lock that keeps other processes out
(flock on a file in the directory, shared by this process's engines on it), whether chDB has opened a
directory yet, and how many writes this process's engines finished on each (Engine.writes)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path

from livekit_dashboard.store.errors import DataDirInUseError

__all__ = ["count_write", "first_open", "lock_data_dir", "unlock_data_dir", "writes_on"]

_LOCK_FILE = ".livekit-dashboard.lock"

# flock is per open file, so engines of one process on one directory (a database each, as the
# tests use) share the lock: path -> [fd, number of engines holding it]
_HELD: dict[Path, list[int]] = {}
_HELD_LOCK = threading.Lock()
# the directories chDB has opened in this process (it keeps their tables loaded)
_OPENED: set[Path] = set()
# statements that write, finished on each directory by this process's engines (ChdbEngine.writes)
_WRITES: dict[Path, int] = {}


def lock_data_dir(path: Path) -> int:
    with _HELD_LOCK:
        if path in _HELD:
            _HELD[path][1] += 1
            return _HELD[path][0]
        fd = os.open(path / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirInUseError(path, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD[path] = [fd, 1]
        return fd


def unlock_data_dir(path: Path) -> None:
    with _HELD_LOCK:
        held = _HELD.get(path)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[path]
            with contextlib.suppress(OSError):
                os.close(held[0])


def first_open(path: Path) -> bool:
    """True the first time this process opens the directory (chDB keeps its tables loaded after)."""
    with _HELD_LOCK:
        first = path not in _OPENED
        _OPENED.add(path)
        return first


def count_write(path: Path) -> None:
    with _HELD_LOCK:
        _WRITES[path] = _WRITES.get(path, 0) + 1


def writes_on(path: Path) -> int:
    """Statements that write finished on the directory by this process's engines (no other process
    can open it while this one holds its lock)."""
    with _HELD_LOCK:
        return _WRITES.get(path, 0)
