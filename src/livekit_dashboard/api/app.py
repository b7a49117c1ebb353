"""App factory: the FastAPI application with every route, error mapping and the web UI."""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from livekit_dashboard import __version__
from livekit_dashboard.api.admin import EnvelopeError, admin_router, envelope
from livekit_dashboard.api.auth import INGEST_ROLES, READ_ROLES, AuthError, FailedKeyLimiter, require
from livekit_dashboard.api.keys import keys_router
from livekit_dashboard.api.lookup import lookup_router
from livekit_dashboard.api.otlp import otlp_router
from livekit_dashboard.api.panels import panels_router
from livekit_dashboard.api.usage import usage_router
from livekit_dashboard.ingest import Ingestor
from livekit_dashboard.store import Engine, KeyStore, StorageError

__all__ = ["SECURITY_HEADERS", "create_app"]

# No inline or remote script may run (telemetry text is attacker-controlled); styles may be inline
# because the chart library sizes its canvases with style attributes. No CORS headers are sent: other
# origins cannot read the API from a browser.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    engine: Engine,
    ingestor: Ingestor,
    keys: KeyStore,
    *,
    max_body_bytes: int,
    auth_required: bool,
    failed_keys_per_minute: int = 20,
) -> FastAPI:
    app = FastAPI(
        title="livekit-dashboard",
        version=__version__,
        description="Self-hosted observability for LiveKit voice agents.",
    )
    app.state.engine = engine
    app.state.ingestor = ingestor
    app.state.max_body_bytes = max_body_bytes
    app.state.keys = keys
    app.state.auth_required = auth_required
    app.state.failed_keys = FailedKeyLimiter(limit=failed_keys_per_minute)

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(RequestValidationError)
    async def _bad_params(request: Request, exc: RequestValidationError) -> JSONResponse:
        # 400 naming the parameter, rather than FastAPI's 422
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err.get("loc", ()) if part not in ("query", "path", "body"))
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        message = "invalid parameter " + "; ".join(problems)
        if request.url.path.startswith("/admin/"):
            return envelope(400, message)
        return JSONResponse({"detail": message}, status_code=400)

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 429:
            headers = {"Retry-After": str(exc.retry_after_s)}
        if request.url.path.startswith("/admin/"):
            response = envelope(exc.status, exc.message)
            response.headers.update(headers or {})
            return response
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)

    @app.exception_handler(EnvelopeError)
    async def _envelope(request: Request, exc: EnvelopeError) -> JSONResponse:
        return envelope(exc.status, exc.message)

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        if request.url.path.startswith("/admin/"):
            return envelope(500, f"storage error: {exc}")
        return JSONResponse({"detail": f"storage error: {exc}"}, status_code=503, headers={"Retry-After": "5"})

    read = [Depends(require(READ_ROLES))]
    app.include_router(otlp_router, dependencies=[Depends(require(INGEST_ROLES))])
    app.include_router(usage_router)
    app.include_router(lookup_router, dependencies=read)
    app.include_router(panels_router, dependencies=read)
    app.include_router(admin_router)
    app.include_router(keys_router)

    @app.get("/healthz", tags=["Health"], summary="200 when storage answers and takes writes, 503 otherwise")
    async def healthz() -> JSONResponse:
        try:
            await run_in_threadpool(engine.ping)
            if ingestor.batcher.last_error is not None:
                # ingest saw a write fail: probe whether storage takes writes again
                await run_in_threadpool(engine.command, "INSERT INTO livekit_dashboard_health VALUES (now64(3))")
                ingestor.batcher.last_error = None
        except StorageError as exc:
            return JSONResponse({"status": "unavailable", "storage": engine.description, "error": str(exc)}, 503)
        return JSONResponse({"status": "ok", "storage": engine.description})

    @app.get("/api/v1/auth", tags=["Health"], summary="Whether this server requires API keys (for the web UI)")
    async def auth_info() -> dict[str, Any]:
        return {"keys_required": auth_required}

    @app.get(
        "/api/v1/ingest/stats",
        tags=["Health"],
        summary="Spans, log records and data points since start",
        dependencies=read,
    )
    async def ingest_stats() -> dict[str, Any]:
        await run_in_threadpool(ingestor.batcher.wait_visible)  # counts as of every acknowledged request
        batcher = ingestor.batcher
        return {
            **ingestor.stats.snapshot(),
            "queue_depth": batcher.queue_depth,
            "quarantined_rows": batcher.quarantined_rows,
        }

    web = resources.files("livekit_dashboard").joinpath("web")
    app.mount("/static", StaticFiles(directory=str(web)), name="static")

    # the UI routes its own paths; every view is a shareable URL
    @app.get("/", include_in_schema=False)
    @app.get("/traces/{trace_id}", include_in_schema=False)
    @app.get("/logs/{log_id}", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(web.joinpath("index.html")), media_type="text/html")

    return app
