"""Ingest statistics since start: received, stored and rejected items per signal."""

from __future__ import annotations

import threading
from typing import Any

from livekit_dashboard.ingest.decode import Signal

__all__ = ["IngestStats"]


class IngestStats:
    """Thread-safe counters of spans, log records and metric data points."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {signal: {"received": 0, "stored": 0, "rejected": 0} for signal in Signal}
        self._refused = 0
        self._duplicates = 0

    def add(self, signal: Signal, *, received: int = 0, stored: int = 0, rejected: int = 0) -> None:
        with self._lock:
            counts = self._counts[signal]
            counts["received"] += received
            counts["stored"] += stored
            counts["rejected"] += rejected

    def refuse(self) -> None:
        """A request answered 503 / UNAVAILABLE because the queue was full (the client retries it)."""
        with self._lock:
            self._refused += 1

    def duplicate(self) -> None:
        """A request acknowledged recently came again (a client retry): answered, not stored twice."""
        with self._lock:
            self._duplicates += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {signal.value: dict(counts) for signal, counts in self._counts.items()}
            out["refused_requests"] = self._refused
            out["duplicate_requests"] = self._duplicates
            return out
