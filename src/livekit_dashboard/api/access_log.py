"""The access log (off unless asked for): one line per HTTP request with client, method, path, status
and duration, on the logger `livekit_dashboard.access` (so a JSON log format gives them as fields)."""

from __future__ import annotations

import logging
import time
from typing import Any

__all__ = ["ACCESS_LOGGER", "AccessLogMiddleware"]

ACCESS_LOGGER = "livekit_dashboard.access"

log = logging.getLogger(ACCESS_LOGGER)


class AccessLogMiddleware:
    """Logs each HTTP request once its answer is sent (or has failed: status 500). A plain ASGI
    middleware; gRPC has its own server and is not logged here."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, recording)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            client = scope.get("client")
            address = f"{client[0]}:{client[1]}" if client else "-"
            query = scope.get("query_string", b"").decode("latin-1")
            path = scope["path"] + (f"?{query}" if query else "")
            log.info(
                '%s "%s %s" %d %.1f ms',
                address,
                scope["method"],
                path,
                status,
                duration_ms,
                extra={
                    "client": address,
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )
