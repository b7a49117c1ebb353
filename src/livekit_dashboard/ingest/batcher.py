"""Batcher: group commit. Many requests' rows share one insert; a request is answered only
after its rows are stored (acknowledged means durable), and a bounded queue pushes back.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass

import pyarrow as pa

from livekit_dashboard.store import Engine, StorageError

__all__ = ["Batcher", "QueueFullError"]

log = logging.getLogger(__name__)


class QueueFullError(RuntimeError):
    """The queue holds as many rows as allowed; the client should retry after a pause."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"ingest queue is full; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Item:
    tables: Mapping[str, pa.Table]
    num_rows: int
    future: Future[None]


class Batcher:
    """One writer thread; submit() enqueues and returns a Future resolved once stored."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_queue_rows: int = 200_000,
        max_batch_rows: int = 50_000,
        flush_interval_s: float = 0.1,
        retry_after_s: int = 1,
    ) -> None:
        self._engine = engine
        self._max_queue_rows = max_queue_rows
        self._max_batch_rows = max_batch_rows
        self._flush_interval_s = flush_interval_s
        self._retry_after_s = retry_after_s
        self._items: list[_Item] = []
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.inserts = 0
        self._rows_per_s = 0.0  # recent write rate (moving average), for Retry-After
        self._refused: deque[tuple[float, int]] = deque()  # (when, rows) refused lately: unmet demand
        # the last write failure, until a write succeeds again (for /healthz)
        self.last_error: str | None = None

    @property
    def queue_depth(self) -> int:
        """Rows waiting to be written (including the batch being written)."""
        with self._cond:
            return self._queued_rows

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then end the writer thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def submit(self, tables: Mapping[str, pa.Table]) -> Future[None]:
        """Queue rows for the next insert; QueueFullError when the queue has no room."""
        future: Future[None] = Future()
        num_rows = sum(t.num_rows for t in tables.values())
        if num_rows == 0:
            future.set_result(None)
            return future
        with self._cond:
            if self._stopping:
                raise QueueFullError(self._retry_after_s)
            # a request larger than the whole queue is still accepted when the queue is empty
            if self._queued_rows and self._queued_rows + num_rows > self._max_queue_rows:
                self._refused.append((time.monotonic(), num_rows))
                raise QueueFullError(self._retry_hint_s())
            self._items.append(_Item(tables, num_rows, future))
            self._queued_rows += num_rows
            self._cond.notify_all()
        return future

    def _retry_hint_s(self) -> int:
        """Seconds until the backlog should have drained, plus jitter so that refused clients do not
        all come back at the same moment (OTLP exporters honour Retry-After but retry only a few times)."""
        horizon = time.monotonic() - 5.0
        while self._refused and self._refused[0][0] < horizon:
            self._refused.popleft()
        # the backlog: what is queued, and what was refused lately and will come back
        backlog = self._queued_rows + sum(rows for _, rows in self._refused)
        drain_s = backlog / self._rows_per_s if self._rows_per_s > 0 else 1.0
        return min(30, max(self._retry_after_s, math.ceil(drain_s)) + random.randint(0, 2))

    def _take_batch(self) -> list[_Item]:
        with self._cond:
            while not self._items and not self._stopping:
                self._cond.wait()
            if not self._items:
                return []
            # linger so that concurrent requests share one insert (one part) instead of many
            deadline = time.monotonic() + self._flush_interval_s
            while not self._stopping and sum(i.num_rows for i in self._items) < self._max_batch_rows:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch: list[_Item] = []
            rows = 0
            while self._items and (not batch or rows + self._items[0].num_rows <= self._max_batch_rows):
                item = self._items.pop(0)
                batch.append(item)
                rows += item.num_rows
            return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if not batch:
                return
            error: BaseException | None = None
            started = time.monotonic()
            try:
                self._write(batch)
            except StorageError as exc:
                log.error("insert failed; %d requests answered as unavailable: %s", len(batch), exc)
                error = exc
            except Exception as exc:  # any other failure must still answer the waiting requests
                log.exception("unexpected insert failure")
                error = StorageError(str(exc))
            self.last_error = None if error is None else str(error)
            if error is None:
                rate = sum(item.num_rows for item in batch) / max(time.monotonic() - started, 1e-3)
                self._rows_per_s = rate if not self._rows_per_s else 0.8 * self._rows_per_s + 0.2 * rate
            with self._cond:
                self._queued_rows -= sum(item.num_rows for item in batch)
            for item in batch:
                if error is None:
                    item.future.set_result(None)
                else:
                    item.future.set_exception(error)

    def _write(self, batch: list[_Item]) -> None:
        by_table: dict[str, list[pa.Table]] = defaultdict(list)
        for item in batch:
            for name, table in item.tables.items():
                by_table[name].append(table)
        for name, parts in by_table.items():
            self._engine.insert_arrow(name, pa.concat_tables(parts) if len(parts) > 1 else parts[0])
        self.inserts += 1
