"""App factory: the FastAPI application with every route, error mapping and the web UI."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from livekit_dashboard import __version__
from livekit_dashboard.api.access_log import AccessLogMiddleware
from livekit_dashboard.api.admin import admin_router
from livekit_dashboard.api.alerts import alerts_router
from livekit_dashboard.api.calls import calls_router
from livekit_dashboard.api.docs import install_api_docs
from livekit_dashboard.api.errors import OTLP_PATHS, install_error_handlers
from livekit_dashboard.api.gate import IngestGateMiddleware
from livekit_dashboard.api.keys import keys_router
from livekit_dashboard.api.livekit_upload import livekit_upload_router
from livekit_dashboard.api.lookup import lookup_router
from livekit_dashboard.api.metrics import HttpMetricsMiddleware, metrics_router
from livekit_dashboard.api.onboarding import onboarding_router, whoami_router
from livekit_dashboard.api.otlp import otlp_router
from livekit_dashboard.api.panels import panels_router
from livekit_dashboard.api.prices import prices_router
from livekit_dashboard.api.services import Services, require, services
from livekit_dashboard.api.static import REVALIDATE, CachedStaticFiles, StaticCompressionMiddleware
from livekit_dashboard.api.usage import usage_router
from livekit_dashboard.domain.roles import Permission
from livekit_dashboard.ingest import DecodeError, Encoding, encode_error, encoding_for_content_type

__all__ = ["SECURITY_HEADERS", "create_app", "serving_app"]

# No inline or remote script may run (telemetry text is attacker-controlled); styles may be inline
# because the chart library sizes its canvases with style attributes. No CORS headers are sent: other
# origins cannot read the API from a browser. /redoc alone adds worker-src blob: (api/docs.py).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


_HEADERS = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_INDEX_HEADERS = {"Cache-Control": REVALIDATE}


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS to every response (a plain ASGI middleware: Starlette's decorator-based
    middleware costs a task and a stream per request)."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in _HEADERS if h[0] not in present)]
            await send(message)

        await self._app(scope, receive, with_headers)


def _refusal(scope: Any, app_services: Services) -> tuple[bytes, str, int]:
    content_type = dict(scope.get("headers", [])).get(b"content-type", b"").decode(errors="replace")
    try:
        encoding: Encoding | None = encoding_for_content_type(content_type)
    except DecodeError:
        encoding = None
    body, media_type = encode_error(503, "too many requests in flight; retry later", encoding)
    return body, media_type, app_services.ingestor.retry_hint_s()


def create_app(app_services: Services) -> FastAPI:
    app = FastAPI(
        title="livekit-dashboard",
        version=__version__,
        description="Self-hosted observability for LiveKit voice agents.",
        # served from files in the package by install_api_docs (FastAPI's own pages use a CDN)
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = app_services

    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=app_services.metrics)
    app.add_middleware(StaticCompressionMiddleware)
    install_error_handlers(app)
    read = [Depends(require(Permission.READ))]
    app.include_router(otlp_router, dependencies=[Depends(require(Permission.INGEST))])
    app.include_router(livekit_upload_router)
    app.include_router(usage_router)
    app.include_router(lookup_router, dependencies=read)
    app.include_router(panels_router, dependencies=read)
    app.include_router(calls_router, dependencies=read)
    app.include_router(admin_router)
    app.include_router(keys_router)
    app.include_router(prices_router)
    app.include_router(metrics_router, dependencies=read)
    app.include_router(alerts_router)
    app.include_router(onboarding_router)  # the read permission is its own
    app.include_router(whoami_router)

    @app.get(
        "/healthz",
        tags=["Health"],
        summary="Liveness: 200 while the process answers (no storage access); whether it takes in data",
    )
    async def healthz(request: Request) -> dict[str, str]:
        return {"status": "ok", "ingest": "enabled" if services(request).ingestor.enabled else "disabled"}

    @app.get(
        "/readyz",
        tags=["Health"],
        summary="Readiness: 200 when storage answers, takes writes, the write-ahead log works and disk space is enough",
    )
    async def readyz(request: Request) -> JSONResponse:
        problems = services(request).readiness()
        storage = services(request).engine.description
        if problems:
            return JSONResponse(
                {"status": "unavailable", "storage": storage, "error": problems[0], "problems": problems}, 503
            )
        return JSONResponse({"status": "ok", "storage": storage})

    @app.get("/api/v1/auth", tags=["Health"], summary="Whether this server requires API keys (for the web UI)")
    async def auth_info(request: Request) -> dict[str, Any]:
        return {"keys_required": services(request).authorizer.required}

    @app.get(
        "/api/v1/ingest/stats",
        tags=["Health"],
        summary="Spans, log records and data points since start",
        dependencies=read,
    )
    async def ingest_stats(request: Request) -> dict[str, Any]:
        ingestor = services(request).ingestor
        await run_in_threadpool(ingestor.wait_visible)  # counts as of every acknowledged request
        return ingestor.stats()

    install_api_docs(app, SECURITY_HEADERS["Content-Security-Policy"])
    web = resources.files("livekit_dashboard").joinpath("web")
    app.mount("/static", CachedStaticFiles(directory=str(web)), name="static")

    # the UI routes its own paths; every view is a shareable URL
    @app.get("/", include_in_schema=False)
    @app.get("/calls", include_in_schema=False)
    @app.get("/prices", include_in_schema=False)
    @app.get("/alerts", include_in_schema=False)
    @app.get("/calls/{call_id}", include_in_schema=False)
    @app.get("/traces/{trace_id}", include_in_schema=False)
    @app.get("/logs/{log_id}", include_in_schema=False)
    async def index() -> FileResponse:
        # no-cache: fetched again on every load (662 bytes), so an upgrade never leaves a stale UI running
        return FileResponse(str(web.joinpath("index.html")), media_type="text/html", headers=_INDEX_HEADERS)

    return app


def serving_app(app: FastAPI, *, access_log: bool = False) -> Any:
    """The ASGI application to serve: the app behind the ingest gate, which refuses OTLP requests over
    its limit before FastAPI's own middleware, routing and auth run (a refusal must cost almost
    nothing: under a flood, refusals compete with decoding for the GIL). With access_log, every
    request is logged (outermost, so the gate's refusals are too)."""
    app_services: Services = app.state.services
    gated = IngestGateMiddleware(app, app_services.ingest_gate, OTLP_PATHS, lambda scope: _refusal(scope, app_services))
    return AccessLogMiddleware(gated) if access_log else gated
