"""Storage monitor: pings storage from its own thread every few seconds and keeps the answer, so a
readiness check reads a fact from memory instead of queueing a query behind a busy server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from livekit_dashboard.store.engine import Engine, StorageError

__all__ = ["StorageMonitor"]

log = logging.getLogger(__name__)


class StorageMonitor:
    def __init__(self, engine: Engine, *, interval_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._error: str | None = None
        self._answered_at = clock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="storage-monitor", daemon=True)

    def start(self) -> None:
        self.check()
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def check(self) -> None:
        """Ping now and remember the outcome."""
        try:
            self._engine.ping()
        except StorageError as exc:
            with self._lock:
                if self._error is None:
                    log.warning("storage does not answer: %s", exc)
                self._error = str(exc)
            return
        with self._lock:
            self._error = None
            self._answered_at = self._clock()

    def problem(self) -> str | None:
        """Why storage is not usable (its last ping failed, or none has answered for a while), or None."""
        with self._lock:
            if self._error is not None:
                return f"storage does not answer: {self._error}"
            silent_s = self._clock() - self._answered_at
        if silent_s > 5 * self._interval_s + 10:
            return f"storage has not answered a query for {silent_s:.0f} s"
        return None

    def _run(self) -> None:
        while not self._stopping.wait(self._interval_s):
            self.check()
