"""API documentation pages: Swagger UI on /docs and ReDoc on /redoc, from files inside the package
(docs_ui/: our two pages and Swagger UI's start script, and under docs_ui/vendor/ swagger-ui-dist and
redoc as published, README.md there says which versions). Nothing is fetched from a CDN, and no inline
script runs, so the pages work offline and under the server's Content-Security-Policy."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import FileResponse

from livekit_dashboard.api.static import REVALIDATE, CachedStaticFiles

__all__ = ["REDOC_CSP", "install_api_docs"]

_DOCS_UI = resources.files("livekit_dashboard.api").joinpath("docs_ui")

# ReDoc builds its search index in a Web Worker made from a blob: URL (its own bundled code); the
# server's policy has no worker-src, so it falls back to script-src 'self', which forbids that. Only
# /redoc gets worker-src blob: on top of the server's policy (set in app.py, which owns it).
REDOC_CSP = "worker-src 'self' blob:"


def install_api_docs(app: FastAPI, content_security_policy: str) -> None:
    """Serve /docs, /redoc and their files (/docs/assets/...). The app must be created with
    docs_url=None and redoc_url=None (FastAPI's own pages load their scripts from a CDN)."""
    app.mount("/docs/assets", CachedStaticFiles(directory=str(_DOCS_UI)), name="docs-assets")
    headers = {"Cache-Control": REVALIDATE}
    redoc_headers = {**headers, "Content-Security-Policy": f"{content_security_policy}; {REDOC_CSP}"}

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> FileResponse:
        return FileResponse(str(_DOCS_UI.joinpath("swagger.html")), media_type="text/html", headers=headers)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> FileResponse:
        return FileResponse(str(_DOCS_UI.joinpath("redoc.html")), media_type="text/html", headers=redoc_headers)
