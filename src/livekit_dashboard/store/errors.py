"""Storage errors: what every storage call may raise."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DataDirInUseError", "StorageError"]


class StorageError(RuntimeError):
    """Storage failed (engine error, unreachable server, disk problem)."""


class DataDirInUseError(StorageError):
    """Another process holds the data directory."""

    def __init__(self, path: Path, holder: str) -> None:
        who = f" (pid {holder})" if holder else ""
        super().__init__(
            f"data directory {path} is in use by another livekit-dashboard process{who}; "
            "stop it or choose another --data-dir"
        )
        self.path = path
        self.holder = holder  # its pid, as it wrote it in the lock file
