"""Errors: one place that turns a failure into an answer in the format documented for its route.

- `/admin/...`: the `{success: false, message, data: null}` envelope;
- OTLP routes (`/v1/traces|logs|metrics`, `/observability/...`): a `google.rpc.Status` in the
  request's encoding;
- everything else: `{"detail": "<what is wrong>"}`.
Unknown routes, wrong methods, bad parameters, auth failures and storage errors all go through here."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from livekit_dashboard.api.auth import AuthError
from livekit_dashboard.ingest import Encoding, encode_error
from livekit_dashboard.store import StorageError

__all__ = ["OTLP_PATHS", "EnvelopeError", "envelope", "error_response", "install_error_handlers"]

OTLP_PATHS = ("/v1/traces", "/v1/logs", "/v1/metrics", "/observability/")


class EnvelopeError(Exception):
    """An admin-API failure with its status (answered in the envelope)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def envelope(status: int, message: str, data: Any = None) -> JSONResponse:
    return JSONResponse({"success": 200 <= status < 300, "message": message, "data": data}, status_code=status)


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    path = request.url.path
    if path.startswith("/admin/"):
        response: Response = envelope(status, message)
        response.headers.update(headers or {})
        return response
    if path.startswith(OTLP_PATHS):
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        encoding = Encoding.PROTOBUF if media in ("application/x-protobuf", "application/protobuf") else None
        body, media_type = encode_error(status, message, encoding)
        return Response(body, status, headers=headers, media_type=media_type)
    if status == 404 and _a_page_visit(request):
        return HTMLResponse(_NOT_FOUND_PAGE.format(path=html.escape(path)), status_code=404, headers=headers)
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


# a browser that follows a wrong link gets a page, not JSON; API clients (no text/html) get the JSON
_NOT_FOUND_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found · livekit-dashboard</title>\n'
    '<link rel="stylesheet" href="/static/styles.css"></head>\n'
    '<body><main id="main"><div class="error page-error">No page at <code>{path}</code>.\n'
    '<a href="/">Open the dashboard</a> · <a href="/calls">the calls</a> · <a href="/docs">the API</a>'
    "</div></main></body></html>\n"
)


def _a_page_visit(request: Request) -> bool:
    path = request.url.path
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and not path.startswith(("/api/", "/static/", "/docs/"))
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _bad_params(request: Request, exc: RequestValidationError) -> Response:
        # 400 naming the parameter, rather than FastAPI's 422
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err.get("loc", ()) if part not in ("query", "path", "body"))
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        return error_response(request, 400, "invalid parameter " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such route: {request.method} {request.url.path} (the API is listed at /docs)"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        return error_response(request, exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.retry_after_s:
            headers = {"Retry-After": str(exc.retry_after_s)}
        return error_response(request, exc.status, exc.message, headers)

    @app.exception_handler(EnvelopeError)
    async def _envelope(request: Request, exc: EnvelopeError) -> Response:
        return envelope(exc.status, exc.message)

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> Response:
        if request.url.path.startswith("/admin/"):
            return envelope(500, f"storage error: {exc}")
        return error_response(request, 503, f"storage error: {exc}", {"Retry-After": "5"})
