"""Batcher: write-ahead then group commit. A request is acknowledged once its rows are appended to
the write-ahead log (durable: replayed after a crash); one writer thread inserts everything queued in
large batches, so the cost of an insert (a part per table, the materialized views) is shared by many
requests. A bounded queue pushes back. Reads wait for rows acknowledged before them (read-your-writes).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from livekit_dashboard.ingest.wal import Position, WalError, WriteAheadLog, encode_payload
from livekit_dashboard.store import Engine, StorageError

__all__ = ["Batcher", "QueueFullError"]

log = logging.getLogger(__name__)

_PROBE = "INSERT INTO livekit_dashboard_health VALUES (now64(3))"


class QueueFullError(RuntimeError):
    """The queue holds as many rows as allowed; the client should retry after a pause."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"ingest queue is full; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Item:
    tables: Mapping[str, pa.Table]
    num_rows: int
    position: Position
    enqueued: float


class Batcher:
    """submit() logs and queues rows (they are durable when it returns); one writer thread inserts them."""

    def __init__(
        self,
        engine: Engine,
        wal: WriteAheadLog,
        *,
        max_queue_rows: int = 200_000,
        max_batch_rows: int = 50_000,
        flush_interval_s: float = 0.1,
        retry_after_s: int = 1,
        max_backoff_s: float = 5.0,
        admission_wait_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._wal = wal
        self._max_queue_rows = max_queue_rows
        self._max_batch_rows = max_batch_rows
        self._flush_interval_s = flush_interval_s
        self._retry_after_s = retry_after_s
        self._max_backoff_s = max_backoff_s
        self._admission_wait_s = admission_wait_s
        self._waiting: deque[object] = deque()  # requests waiting for room, in arrival order
        self._items: deque[_Item] = deque()
        self._queued_rows = 0
        self._accepted = 0  # items acknowledged (or recovered) so far
        self._committed = 0  # items in storage (or quarantined) so far
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.inserts = 0
        self.quarantined_rows = 0
        self.recovered_rows = 0
        self._rows_per_s = 0.0  # recent write rate (moving average), for Retry-After
        self._refused: deque[tuple[float, int]] = deque()  # (when, rows) refused lately: unmet demand
        # the last write failure, until a write succeeds again (for /healthz)
        self.last_error: str | None = None

    @property
    def queue_depth(self) -> int:
        """Rows acknowledged but not yet in storage (including the batch being written)."""
        with self._cond:
            return self._queued_rows

    def start(self) -> None:
        """Queue what the write-ahead log holds beyond its checkpoint, then start the writer."""
        rows = 0
        for tables, position in self._wal.recover():
            num_rows = sum(t.num_rows for t in tables.values())
            self._items.append(_Item(tables, num_rows, position, time.monotonic()))
            self._queued_rows += num_rows
            self._accepted += 1
            rows += num_rows
        if rows:
            log.info("replaying %d rows from the write-ahead log in %s", rows, self._wal.directory)
        self.recovered_rows = rows
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Write what is queued (what cannot be written stays in the log for the next start)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self._wal.close()

    def submit(self, tables: Mapping[str, pa.Table]) -> None:
        """Log and queue rows (blocks up to admission_wait_s while the queue is full). QueueFullError
        when it stays full; StorageError when the log cannot be written. Once it returns, the rows
        are durable."""
        num_rows = sum(t.num_rows for t in tables.values())
        if num_rows == 0:
            return
        payload = encode_payload(tables)
        with self._cond:
            if self._stopping:
                raise QueueFullError(self._retry_after_s)
            if self._waiting or not self._has_room(num_rows):
                self._wait_for_room(num_rows)
            try:
                position = self._wal.append(payload)
            except WalError as exc:
                raise StorageError(str(exc)) from None
            self._items.append(_Item(tables, num_rows, position, time.monotonic()))
            self._queued_rows += num_rows
            self._accepted += 1
            self._cond.notify_all()

    def _has_room(self, num_rows: int) -> bool:
        # a request larger than the whole queue is still accepted when the queue is empty
        return not self._queued_rows or self._queued_rows + num_rows <= self._max_queue_rows

    def _wait_for_room(self, num_rows: int) -> None:
        """With the queue full, wait (first come, first served) up to admission_wait_s for room, so
        that clients that just succeeded cannot starve those retrying; then QueueFullError."""
        ticket = object()
        self._waiting.append(ticket)
        deadline = time.monotonic() + self._admission_wait_s
        try:
            while not (self._waiting[0] is ticket and self._has_room(num_rows)):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    self._refused.append((time.monotonic(), num_rows))
                    raise QueueFullError(self._retry_hint_s())
                self._cond.wait(remaining)
        finally:
            self._waiting.remove(ticket)
            self._cond.notify_all()

    def wait_visible(self, timeout_s: float = 5.0) -> bool:
        """Wait until everything acknowledged before this call is in storage; False when that did
        not happen within the timeout or storage is failing (the caller reads what is there)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            target = self._accepted
            while self._committed < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.last_error is not None or not self._thread.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

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
            # linger (counted from the oldest queued request) so that requests arriving close together
            # share one insert; under load the oldest has waited through the last insert already
            deadline = self._items[0].enqueued + self._flush_interval_s
            while not self._stopping and sum(i.num_rows for i in self._items) < self._max_batch_rows:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch: list[_Item] = []
            rows = 0
            while self._items and (not batch or rows + self._items[0].num_rows <= self._max_batch_rows):
                item = self._items.popleft()
                batch.append(item)
                rows += item.num_rows
            return batch

    def _run(self) -> None:
        backoff_s = 0.1
        while True:
            batch = self._take_batch()
            if not batch:
                return
            started = time.monotonic()
            try:
                self._write(batch)
            except Exception as exc:  # StorageError, or anything else: the rows stay queued and logged
                self.last_error = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, StorageError):
                    log.exception("unexpected insert failure")
                if self._storage_takes_writes():
                    # storage works, yet refused this batch: find the requests it refuses
                    batch = self._write_one_by_one(batch)
                    if not batch:
                        continue
                log.error("insert failed; %d requests stay queued, retrying: %s", len(batch), self.last_error)
                with self._cond:
                    self._items.extendleft(reversed(batch))
                    if self._stopping:
                        return  # the write-ahead log keeps them for the next start
                    resume = time.monotonic() + backoff_s  # appends notify too: sleep the whole pause
                    while not self._stopping and (pause := resume - time.monotonic()) > 0:
                        self._cond.wait(pause)
                backoff_s = min(self._max_backoff_s, backoff_s * 2)
                continue
            backoff_s = 0.1
            rate = sum(item.num_rows for item in batch) / max(time.monotonic() - started, 1e-3)
            self._rows_per_s = rate if not self._rows_per_s else 0.8 * self._rows_per_s + 0.2 * rate
            self._done(batch)

    def _done(self, batch: list[_Item]) -> None:
        try:
            self._wal.checkpoint(batch[-1].position)
        except OSError as exc:  # the rows are stored; a stale checkpoint only means a replay later
            log.warning("could not write the write-ahead log checkpoint: %s", exc)
        self.last_error = None
        with self._cond:
            self._queued_rows -= sum(item.num_rows for item in batch)
            self._committed += len(batch)
            self._cond.notify_all()

    def _storage_takes_writes(self) -> bool:
        try:
            self._engine.command(_PROBE)
        except Exception:
            return False
        return True

    def _write_one_by_one(self, batch: list[_Item]) -> list[_Item]:
        """Insert each request's rows on its own; keep those storage refuses (while it takes other
        writes) in the quarantine file. Returns the items left when storage itself stops answering."""
        for index, item in enumerate(batch):
            try:
                self._write([item])
            except Exception as exc:
                if not self._storage_takes_writes():
                    return batch[index:]
                try:
                    path = self._wal.quarantine(encode_payload(item.tables))
                except OSError:
                    return batch[index:]
                self.quarantined_rows += item.num_rows
                log.error("storage refused %d rows (%s); kept them in %s", item.num_rows, exc, path)
            self._done([item])
        return []

    def _write(self, batch: list[_Item]) -> None:
        by_table: dict[str, list[pa.Table]] = defaultdict(list)
        for item in batch:
            for name, table in item.tables.items():
                by_table[name].append(table)
        for name, parts in by_table.items():
            self._engine.insert_arrow(name, pa.concat_tables(parts) if len(parts) > 1 else parts[0])
        self.inserts += 1
