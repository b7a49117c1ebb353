"""Batcher: write-ahead then group commit. A request is acknowledged once its rows are appended to
the write-ahead log (durable: replayed after a crash); one writer thread inserts everything queued in
large batches, so the cost of an insert (a part per table, the materialized views) is shared by many
requests. A bounded queue pushes back. Reads wait for rows acknowledged before them (read-your-writes).

Exactly once: every batch is inserted under a deduplication token named after the log frames it
holds, and its frames are recorded as in flight before the insert. A batch that failed, or that a
crash interrupted, is inserted again as the very same batch under the same token, so storage skips
what of it had already landed (in the raw table and in every materialized view) and completes the
rest. A request whose digest was acknowledged in the last minutes is answered without storing it again.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from livekit_dashboard.ingest.dedup import RecentRequests
from livekit_dashboard.ingest.memory import release_memory
from livekit_dashboard.ingest.rows import REQUESTS, rows_in
from livekit_dashboard.ingest.trace_requests import TraceRequests
from livekit_dashboard.ingest.wal import DIGEST_BYTES, Position, WalError, WriteAheadLog, encode_payload
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
    start: Position
    end: Position
    enqueued: float


class Batcher:
    """submit() logs and queues rows (they are durable when it returns); one writer thread inserts them.
    Without a write-ahead log (`wal=None`: serve --no-ingest) it takes nothing: submit() raises WalError."""

    def __init__(
        self,
        engine: Engine,
        wal: WriteAheadLog | None,
        recent: RecentRequests | None,
        *,
        probe_writes: Callable[[], None],
        max_queue_rows: int = 200_000,
        max_batch_rows: int = 50_000,
        flush_interval_s: float = 1.0,
        retry_after_s: int = 1,
        max_backoff_s: float = 5.0,
        admission_wait_s: float = 1.0,
        split_after_s: float = 30.0,
        requests: TraceRequests | None = None,
    ) -> None:
        self._engine = engine
        # trace requests kept whole (REQUESTS): decoded by the engine, or in Python when it cannot read them
        self._requests = requests or TraceRequests(engine)
        self._wal = wal
        self._recent = recent
        self._probe_writes = probe_writes
        self._max_queue_rows = max_queue_rows
        self._max_batch_rows = max_batch_rows
        self._flush_interval_s = flush_interval_s
        self._retry_after_s = retry_after_s
        self._max_backoff_s = max_backoff_s
        self._admission_wait_s = admission_wait_s
        # a batch refused this long while storage takes other writes is written request by request
        # (retrying it whole first matters: a partial insert is completed only under its own token)
        self._split_after_s = split_after_s
        self._waiting: deque[object] = deque()  # requests waiting for room, in arrival order
        self._items: deque[_Item] = deque()
        self._replay_end: Position | None = None  # the batch a crash interrupted ends here
        self._queued_rows = 0
        self._reserved_rows = 0  # room held for requests being decoded (see reserve)
        self._peak_rows = 0  # most rows queued since memory was last handed back
        self._trimmed_at = 0.0
        self._accepted = 0  # items acknowledged (or recovered) so far
        self._committed = 0  # items in storage (or quarantined) so far
        # the most items a read waiting for them (wait_visible) needs committed: until they are, the writer
        # does not linger (rows that arrive meanwhile, which no read waits for, wait for company again)
        self._wanted = 0
        self._writer_done = False  # the writer thread has ended: a read waits for nothing more
        self._cond = threading.Condition()
        # held while an insert runs: its materialized views write to their tables in no set order, so a
        # reader that must see an insert whole (the call settler reading its touch queue) waits for it
        self._write_gate = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.inserts = 0
        # told each successful insert's duration (seconds) and rows: the server's /metrics histograms
        self.on_insert: Callable[[float, int], None] | None = None
        self.quarantined_rows = 0
        self.recovered_rows = 0
        self.duplicate_requests = 0
        self._rows_per_s = 0.0  # recent write rate (moving average), for Retry-After
        self._refused: deque[tuple[float, int]] = deque()  # (when, rows) refused lately: unmet demand
        self._last_error: str | None = None  # the last insert failure, until an insert succeeds again
        self._wal_error: str | None = None  # the last failed append, until an append succeeds again

    @property
    def _log(self) -> WriteAheadLog:
        if self._wal is None:  # serve --no-ingest: no log, and nothing is ever queued
            raise WalError("ingest is disabled on this server (--no-ingest)")
        return self._wal

    def wal_bytes(self) -> int:
        """Bytes the write-ahead log holds on disk."""
        return self._wal.bytes_on_disk() if self._wal is not None else 0

    def between_inserts(self) -> contextlib.AbstractContextManager[object]:
        """Hold off inserts for a moment (the block): what is in storage then is whole inserts only."""
        return self._write_gate

    @property
    def queue_depth(self) -> int:
        """Rows acknowledged but not yet in storage (including the batch being written)."""
        with self._cond:
            return self._queued_rows

    @property
    def last_error(self) -> str | None:
        """Why the last insert failed, while storage has not taken a write since."""
        with self._cond:
            return self._last_error

    @property
    def wal_error(self) -> str | None:
        """Why the last append to the write-ahead log failed, while none has succeeded since."""
        with self._cond:
            return self._wal_error

    def start(self) -> None:
        """Queue what the write-ahead log holds beyond its checkpoint, then start the writer."""
        rows = 0
        for frame in self._wal.recover() if self._wal is not None else []:
            num_rows = rows_in(frame.tables)
            self._items.append(_Item(frame.tables, num_rows, frame.start, frame.end, time.monotonic()))
            if self._recent is not None:
                self._recent.extend([frame.digest])
            self._queued_rows += num_rows
            self._accepted += 1
            rows += num_rows
        if rows:
            log.info("replaying %d rows from the write-ahead log in %s", rows, self._log.directory)
        if self._wal is not None and self._wal.inflight is not None:
            self._replay_end = self._wal.inflight[1]
        self.recovered_rows = rows
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Write what is queued (what cannot be written stays in the log for the next start)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self._recent is not None:
            self._recent.close()
        if self._wal is not None:
            self._wal.close()

    def seen(self, digest: bytes) -> bool:
        """Whether a request with this digest was acknowledged within the last minutes."""
        with self._cond:
            return self._seen(digest)

    def _seen(self, digest: bytes) -> bool:
        return self._recent is not None and self._recent.seen(digest)

    def reserve(self, num_rows: int) -> int:
        """Hold room for `num_rows` before a request is decoded (waiting, first come first served, up
        to admission_wait_s), so that a request that will be refused is refused before the work of
        decoding it. Returns the rows held, for submit(reserved=...) or release(). QueueFullError when
        no room came."""
        if num_rows <= 0:
            return 0
        with self._cond:
            if self._stopping:
                raise QueueFullError(self._retry_after_s)
            if self._waiting or not self._has_room(num_rows):
                self._wait_for_room(num_rows)
            self._reserved_rows += num_rows
            return num_rows

    def release(self, reserved: int) -> None:
        """Give back room held by reserve() for a request that will not be submitted."""
        if reserved:
            with self._cond:
                self._reserved_rows -= reserved
                self._cond.notify_all()

    def submit(self, tables: Mapping[str, pa.Table], digest: bytes = b"", *, reserved: int = 0) -> bool:
        """Log and queue rows (in room held by reserve(), which this always takes back, or else waiting
        up to admission_wait_s while the queue is full). True once they are durable; False when a
        request with this digest was acknowledged recently (nothing is stored again). QueueFullError
        when the queue stays full; StorageError when the log cannot be written."""
        num_rows = rows_in(tables)
        try:
            wal = self._log
            if digest and len(digest) != DIGEST_BYTES:
                raise ValueError(f"a request digest is {DIGEST_BYTES} bytes")
            payload = encode_payload(tables, digest or bytes(DIGEST_BYTES)) if num_rows else b""
        except BaseException:
            self.release(reserved)
            raise
        if num_rows == 0:
            self.release(reserved)
            return True
        with self._cond:
            self._reserved_rows -= reserved
            if digest and self._seen(digest):
                self.duplicate_requests += 1
                self._cond.notify_all()
                return False
            if self._stopping:
                raise QueueFullError(self._retry_after_s)
            if not reserved and (self._waiting or not self._has_room(num_rows)):
                self._wait_for_room(num_rows)
            try:
                start, end = wal.append(payload)
            except WalError as exc:
                self._wal_error = str(exc)
                raise
            self._wal_error = None
            if digest and self._recent is not None:
                self._recent.add(digest)
            self._items.append(_Item(tables, num_rows, start, end, time.monotonic()))
            self._queued_rows += num_rows
            self._peak_rows = max(self._peak_rows, self._queued_rows)
            self._accepted += 1
            self._cond.notify_all()
        wal.sync(end)  # with fsync on: acknowledged only once on disk (shared by concurrent appends)
        return True

    def saturated(self) -> bool:
        """Whether a new request would only wait in line to be refused: the queue is full and others
        already wait for room (the HTTP layer then answers 503 before reading the body)."""
        with self._cond:
            return len(self._waiting) >= 4 and not self._has_room(1)

    def _has_room(self, num_rows: int) -> bool:
        # a request larger than the whole queue is still accepted when the queue is empty
        held = self._queued_rows + self._reserved_rows
        return not held or held + num_rows <= self._max_queue_rows

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
                    raise QueueFullError(self.retry_hint_s())
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
            if self._committed >= target:
                return True
            # someone is looking: the writer inserts what is queued now instead of lingering for more
            self._wanted = max(self._wanted, target)
            self._cond.notify_all()
            while self._committed < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._last_error is not None or not self._writer_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def _writer_alive(self) -> bool:
        return self._thread.is_alive() and not self._writer_done

    def retry_hint_s(self) -> int:
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
            if self._replay_end is not None:
                # the batch a crash interrupted: exactly its frames again, so its token matches
                replay: list[_Item] = []
                while self._items and self._items[0].end <= self._replay_end:
                    replay.append(self._items.popleft())
                self._replay_end = None
                if replay:
                    return replay
            # linger (counted from the oldest queued request) so that requests arriving close together
            # share one insert: an insert costs the same fixed work (a part and a plan per raw and derived
            # table) whatever its size, so at a light load lingering saves most of the server's CPU; under
            # load the oldest has waited through the last insert already; a read waiting for the rows
            # (wait_visible) ends the linger at once
            deadline = self._items[0].enqueued + self._flush_interval_s
            while (
                not self._stopping
                and self._committed >= self._wanted
                and sum(i.num_rows for i in self._items) < self._max_batch_rows
            ):
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
        try:
            self._write_until_stopped()
        finally:
            with self._cond:
                self._writer_done = True
                self._cond.notify_all()

    def _write_until_stopped(self) -> None:
        batch: list[_Item] = []
        backoff_s = 0.1
        first_failure = 0.0
        while True:
            if not batch:
                batch = self._take_batch()
                first_failure = 0.0
                if not batch:
                    return
            started = time.monotonic()
            try:
                self._write(batch)
            except Exception as exc:  # StorageError, or anything else: the rows stay logged and queued
                error = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
                with self._cond:
                    self._last_error = error
                    self._cond.notify_all()  # a read waiting for these rows reads what is there
                if not isinstance(exc, StorageError):
                    log.exception("unexpected insert failure")
                first_failure = first_failure or started
                if started - first_failure >= self._split_after_s and self._storage_takes_writes():
                    # storage works, yet keeps refusing this batch: find the requests it refuses
                    batch = self._write_one_by_one(batch)
                    if not batch:
                        continue
                log.error("insert failed; %d requests stay queued, retrying: %s", len(batch), error)
                if not self._pause(backoff_s):
                    return  # stopping: the write-ahead log keeps the batch for the next start
                backoff_s = min(self._max_backoff_s, backoff_s * 2)
                continue
            backoff_s = 0.1
            took_s, rows = time.monotonic() - started, sum(item.num_rows for item in batch)
            if self.on_insert is not None:
                self.on_insert(took_s, rows)
            rate = rows / max(took_s, 1e-3)
            self._rows_per_s = rate if not self._rows_per_s else 0.8 * self._rows_per_s + 0.2 * rate
            self._done(batch)
            batch = []

    def _pause(self, seconds: float) -> bool:
        """Sleep between retries (appends notify too: sleep the whole pause); False when stopping."""
        with self._cond:
            resume = time.monotonic() + seconds
            while not self._stopping and (pause := resume - time.monotonic()) > 0:
                self._cond.wait(pause)
            return not self._stopping

    def _done(self, batch: list[_Item]) -> None:
        try:
            self._log.checkpoint(batch[-1].end)
        except OSError as exc:  # the rows are stored; a stale checkpoint only means a replay, deduplicated
            log.warning("could not write the write-ahead log checkpoint: %s", exc)
        with self._cond:
            self._last_error = None
            self._queued_rows -= sum(item.num_rows for item in batch)
            self._committed += len(batch)
            self._cond.notify_all()
            # a burst is over: hand its memory back (a backlog of a few batches held it)
            burst_over = self._queued_rows == 0 and self._peak_rows > 2 * self._max_batch_rows
            if burst_over and time.monotonic() - self._trimmed_at > 5.0:
                self._peak_rows, self._trimmed_at = 0, time.monotonic()
            else:
                burst_over = False
        if burst_over:
            release_memory()

    def _storage_takes_writes(self) -> bool:
        try:
            self._probe_writes()
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
                    path = self._log.quarantine(encode_payload(item.tables))
                except OSError:
                    return batch[index:]
                self.quarantined_rows += item.num_rows
                log.error("storage refused %d rows (%s); kept them in %s", item.num_rows, exc, path)
            self._done([item])
        return []

    def _write(self, batch: list[_Item]) -> None:
        start, end = batch[0].start, batch[-1].end
        self._log.mark_inflight(start, end)
        token = self._log.token(start, end)
        by_table: dict[str, list[pa.Table]] = defaultdict(list)
        for item in batch:
            for name, table in item.tables.items():
                by_table[name].append(table)
        for name, parts in by_table.items():
            data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
            with self._write_gate:
                if name == REQUESTS:
                    self._requests.insert(data, token=f"{token}:{name}")
                else:
                    self._engine.insert_arrow(name, data, token=f"{token}:{name}")
        self.inserts += 1
