"""Read-your-writes: ingest acknowledges rows once they are in the write-ahead log, a moment before
they are in storage. Every read through this engine first waits (briefly, bounded) for the rows
acknowledged before it, so a client that got a 200 and then asks sees its data. While ingest is
overloaded (more queued than one insert writes) reads do not wait: a dashboard then shows data a
moment old rather than answering seconds late.

Derived data that is settled outside the insert (call records) registers a barrier: a read that
names its table runs the barrier after the wait, so it sees the writes settled too."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from livekit_dashboard.ingest.batcher import Batcher
from livekit_dashboard.store import Engine

__all__ = ["ReadYourWritesEngine"]


class ReadYourWritesEngine:
    """An Engine whose queries wait for acknowledged ingest (at most `max_wait_s`, and not at all
    while storage is failing); writes and everything else go straight through."""

    def __init__(
        self,
        inner: Engine,
        batcher: Batcher,
        *,
        max_backlog_rows: int,
        max_wait_s: float = 5.0,
        barriers: Mapping[str, Callable[[], None]] | None = None,
    ) -> None:
        self._inner = inner
        self._batcher = batcher
        self._max_backlog_rows = max_backlog_rows
        self._max_wait_s = max_wait_s
        self._barriers = dict(barriers or {})  # table name -> run before a read that names it

    @property
    def description(self) -> str:
        return self._inner.description

    def _before_read(self, sql: str) -> None:
        """Wait for what ingest acknowledged, and run the barriers of the tables the read names."""
        if self._batcher.queue_depth <= self._max_backlog_rows:
            self._batcher.wait_visible(self._max_wait_s)
        ran = []
        for table, barrier in self._barriers.items():
            if table in sql and barrier not in ran:  # (one barrier can serve several tables)
                ran.append(barrier)
                barrier()

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self._before_read(sql)
        return self._inner.query(sql, params)

    def query_arrow(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        self._before_read(sql)
        return self._inner.query_arrow(sql, params)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._inner.command(sql, params)

    def insert_arrow(self, table: str, data: pa.Table, *, token: str = "") -> None:
        self._inner.insert_arrow(table, data, token=token)

    def writes(self) -> int | None:
        return self._inner.writes()

    def ping(self) -> None:
        self._inner.ping()

    def close(self) -> None:
        self._inner.close()
