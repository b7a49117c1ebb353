"""Timing HTTP requests: the ASGI wrapper the access log and the request metrics share. It runs the
app, notes the answer's status (500 when the app failed before answering) and tells `finished` the
status and the seconds taken, once the answer is sent or has failed."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["TimedHttpMiddleware"]


class TimedHttpMiddleware:
    """A plain ASGI middleware; subclasses say what to do with each finished HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def finished(self, scope: Any, status: int, seconds: float) -> None:
        raise NotImplementedError

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            self.finished(scope, status, time.perf_counter() - started)
