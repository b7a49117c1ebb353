"""Recent requests: digests of the requests acknowledged in the last minutes, so that a client that
sends a request again because it never got the answer (a lost reply, a timeout, the server killed
between the log append and the reply) is answered without its rows being stored twice.

The digests live in memory and in `requests.log` beside the write-ahead log (16-byte digest + 8-byte
time per request), rewritten when mostly stale; the log's own frames carry the digest too, so one
appended just before a crash is known again after it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

__all__ = ["RecentRequests"]

log = logging.getLogger(__name__)

_RECORD = struct.Struct("<16sd")


class RecentRequests:
    """Which request digests were acknowledged within `window_s`. Not thread-safe: the batcher calls
    it under its own lock."""

    def __init__(self, path: Path, window_s: float = 900.0, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._window_s = window_s
        self._clock = clock
        self._when: dict[bytes, float] = {}
        self._order: deque[tuple[float, bytes]] = deque()
        self._appended = 0
        self._fh: BinaryIO | None = None
        self._load()

    def _load(self) -> None:
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            data = b""
        except OSError as exc:
            log.warning("cannot read %s (%s): duplicates of recent requests may be stored twice", self._path, exc)
            data = b""
        horizon = self._clock() - self._window_s
        usable = len(data) - len(data) % _RECORD.size  # a record torn by a crash is dropped
        for digest, when in _RECORD.iter_unpack(data[:usable]):
            if when >= horizon:
                self._remember(digest, when)
        self._rewrite()

    def _remember(self, digest: bytes, when: float) -> None:
        self._when[digest] = when
        self._order.append((when, digest))

    def _expire(self) -> None:
        horizon = self._clock() - self._window_s
        while self._order and self._order[0][0] < horizon:
            when, digest = self._order.popleft()
            if self._when.get(digest) == when:
                del self._when[digest]

    def seen(self, digest: bytes) -> bool:
        self._expire()
        return digest in self._when

    def add(self, digest: bytes) -> None:
        when = self._clock()
        self._remember(digest, when)
        try:
            if self._fh is None:
                self._fh = self._path.open("ab")
            self._fh.write(_RECORD.pack(digest, when))
            self._fh.flush()
        except OSError as exc:  # the log frame carries the digest too: only a crash could forget it
            log.warning("cannot record a request digest in %s: %s", self._path, exc)
        self._appended += 1
        if self._appended > 4 * len(self._when) + 10_000:
            self._expire()
            self._rewrite()

    def extend(self, digests: Iterable[bytes]) -> None:
        """Digests of frames recovered from the log (appended before a crash)."""
        for digest in digests:
            if any(digest) and digest not in self._when:
                self.add(digest)

    def _rewrite(self) -> None:
        """Keep only the live digests on disk."""
        self.close()
        tmp = self._path.with_suffix(".tmp")
        try:
            with tmp.open("wb") as fh:
                fh.write(b"".join(_RECORD.pack(d, w) for w, d in self._order if self._when.get(d) == w))
            os.replace(tmp, self._path)
        except OSError as exc:
            log.warning("cannot rewrite %s: %s", self._path, exc)
        self._appended = 0

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
