"""Ingest gate: how many OTLP/HTTP requests are read and decoded at once.

Decoding is CPU work under the GIL: a few threads decode as fast as many, and every request in
flight holds its body in memory. So ingest runs on a small pool of its own (reads keep the event
loop's default pool, and stay responsive while ingest is overloaded), and a request arriving while
`max_inflight` are already in flight is refused with 503 at once, before its body is read: cheap,
and the client's retry comes back when there is room.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["IngestGate", "IngestGateMiddleware"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_T = TypeVar("_T")


class IngestGate:
    def __init__(self, *, workers: int, max_inflight: int) -> None:
        self.workers = workers
        self.max_inflight = max_inflight
        self.inflight = 0  # touched only on the event loop
        self.refused = 0
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")

    def try_enter(self) -> bool:
        if self.inflight >= self.max_inflight:
            self.refused += 1
            return False
        self.inflight += 1
        return True

    def leave(self) -> None:
        self.inflight -= 1

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


class IngestGateMiddleware:
    """Counts OTLP/HTTP requests in flight and refuses the ones over the limit before anything else
    runs (routing, auth, reading the body): under a flood of retries, a refusal must cost almost
    nothing, or the refusals eat the CPU that decoding the admitted requests needs."""

    def __init__(
        self, app: ASGIApp, gate: IngestGate, paths: tuple[str, ...], refuse: Callable[[Scope], tuple[bytes, str, int]]
    ) -> None:
        self._app = app
        self._gate = gate
        self._paths = paths
        self._refuse = refuse  # the 503 body, its media type and Retry-After seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(self._paths):
            await self._app(scope, receive, send)
            return
        if not self._gate.try_enter():
            body, media_type, retry_after_s = self._refuse(scope)
            headers = [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after_s).encode()),
                # closing spares the server reading (and parsing) the rest of the refused body
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self._app(scope, receive, send)
        finally:
            self._gate.leave()
