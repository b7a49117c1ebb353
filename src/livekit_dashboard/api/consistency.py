"""Read-your-writes: ingest acknowledges rows once they are in the write-ahead log, a moment before
they are in storage. Every read through this engine first waits (briefly, bounded) for the rows
acknowledged before it, so a client that got a 200 and then asks sees its data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from livekit_dashboard.ingest import Batcher
from livekit_dashboard.store import Engine

__all__ = ["ReadYourWritesEngine"]


class ReadYourWritesEngine:
    """An Engine whose queries wait for acknowledged ingest (at most `max_wait_s`, and not at all
    while storage is failing); writes and everything else go straight through."""

    def __init__(self, inner: Engine, max_wait_s: float = 5.0) -> None:
        self.inner = inner
        self.batcher: Batcher | None = None
        self._max_wait_s = max_wait_s

    @property
    def description(self) -> str:
        return self.inner.description

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if self.batcher is not None:
            self.batcher.wait_visible(self._max_wait_s)
        return self.inner.query(sql, params)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self.inner.command(sql, params)

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self.inner.insert_arrow(table, data)

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        self.inner.close()
