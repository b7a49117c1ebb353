"""The access log (off unless asked for): one line per HTTP request with client, method, path, status
and duration, on the logger `livekit_dashboard.access` (so a JSON log format gives them as fields)."""

from __future__ import annotations

import logging
from typing import Any

from livekit_dashboard.api.timing import TimedHttpMiddleware

__all__ = ["ACCESS_LOGGER", "AccessLogMiddleware"]

ACCESS_LOGGER = "livekit_dashboard.access"

log = logging.getLogger(ACCESS_LOGGER)


class AccessLogMiddleware(TimedHttpMiddleware):
    """Logs each HTTP request once its answer is sent (or has failed: status 500). gRPC has its own
    server and is not logged here."""

    def finished(self, scope: Any, status: int, seconds: float) -> None:
        duration_ms = round(seconds * 1000, 1)
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
