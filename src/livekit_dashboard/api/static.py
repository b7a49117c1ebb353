"""Static files: how the web UI's and the API docs' files are cached and compressed.

Caching. Files whose path names their version (everything under a `vendor/` folder, e.g.
`vendor/echarts-6.1.0.esm.min.js`) never change under that name: they are cached for a year
(`immutable`). Every other file (index.html, the UI's own modules, which keep their names across
releases) is sent with `no-cache`: a browser keeps it but asks again each time, and gets an empty 304
while its ETag (mtime and size) still matches, so an upgrade is seen on the next load. Without a
Cache-Control a browser guesses a lifetime from Last-Modified and may use an old file for days.

Compression. gzip for the static files, the docs pages and the OpenAPI document, only: the JSON API,
OTLP (its protobuf answers are tiny; compressed requests are handled by ingest) and recordings (audio
is compressed already, and is served by ranges) are left as they are. Starlette's GZipMiddleware also
leaves alone partial (206) responses and already encoded ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

__all__ = ["IMMUTABLE", "REVALIDATE", "CachedStaticFiles", "StaticCompressionMiddleware"]

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# paths whose responses are compressed (prefixes); everything else passes through untouched
_COMPRESSED = ("/static/", "/docs", "/redoc", "/openapi.json")
# smaller bodies gain less than the gzip header costs; level 6 is within a few per cent of 9's size at
# about a third of its CPU (ECharts: 1.1 MB to about 370 kB)
_MINIMUM_SIZE = 1024
_LEVEL = 6


class CachedStaticFiles(StaticFiles):
    """StaticFiles with the Cache-Control above on every answer (200, 206 and 304)."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Any, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE if self._versioned(Path(full_path)) else REVALIDATE
        return response

    def _versioned(self, path: Path) -> bool:
        base = Path(str(self.directory)) if self.directory is not None else path.parent
        try:
            relative = path.resolve().relative_to(base.resolve())
        except ValueError:
            return False
        return "vendor" in relative.parts[:-1]


class StaticCompressionMiddleware:
    """gzip (when the client accepts it) for the paths above; the ETag of a compressed answer becomes
    weak, since the bytes differ from the file's (revalidation still matches: StaticFiles compares
    weakly)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._gzip = GZipMiddleware(app, minimum_size=_MINIMUM_SIZE, compresslevel=_LEVEL)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_COMPRESSED):
            await self._app(scope, receive, send)
            return

        async def weak_etag(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if (b"content-encoding", b"gzip") in headers:
                    message["headers"] = [
                        (name, b"W/" + value if name == b"etag" and not value.startswith(b"W/") else value)
                        for name, value in headers
                    ]
            await send(message)

        await self._gzip(scope, receive, weak_etag)
