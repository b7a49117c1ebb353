"""OTLP/HTTP routes: POST /v1/traces, /v1/logs, /v1/metrics (and the handler the LiveKit-compatible
/observability/*/otlp/v0 routes share: api/livekit_upload.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response

from livekit_dashboard.api.services import services
from livekit_dashboard.ingest import (
    DecodeError,
    Encoding,
    IngestUnavailableError,
    Signal,
    encode_error,
    encode_response,
    encoding_for_content_type,
)

__all__ = ["OTLP_OPENAPI", "add_export_routes", "export_response", "otlp_router"]

OTLP_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
    "responses": {
        "200": {"description": "Stored (partial_success reports rejected records)."},
        "400": {"description": "Malformed body."},
        "413": {"description": "Body (or decompressed body) over the limit."},
        "415": {"description": "Unsupported content type or encoding."},
        "503": {"description": "Queue full, storage unavailable or disk almost full; retry after Retry-After seconds."},
    },
}


def otlp_error(status: int, message: str, encoding: Encoding | None, retry_after_s: int | None = None) -> Response:
    """An OTLP error: google.rpc.Status in the request's encoding (JSON when unknown)."""
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    body, media_type = encode_error(status, message, encoding)
    return Response(body, status, headers=headers, media_type=media_type)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise DecodeError(413, f"body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise DecodeError(413, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def export_response(request: Request, signal: Signal) -> Response:
    """Read, decode and store one OTLP/HTTP request; the OTLP answer."""
    ingestor, gate = services(request).ingestor, services(request).ingest_gate
    content_type = request.headers.get("content-type")
    encoding: Encoding | None = None
    # (IngestGateMiddleware admitted it: not too many in flight)
    try:
        encoding = encoding_for_content_type(content_type)
        refusal = ingestor.refusal()
        if refusal is not None:
            raise refusal
        body = await _read_body(request, ingestor.max_body_bytes)
        result = await gate.run(
            ingestor.export_otlp, signal, body, content_type, request.headers.get("content-encoding")
        )
    except DecodeError as exc:
        return otlp_error(exc.status, exc.message, exc.encoding or encoding)
    except IngestUnavailableError as exc:
        return otlp_error(503, str(exc), encoding, exc.retry_after_s)
    payload, media_type = encode_response(result.response, result.encoding)
    return Response(payload, 200, media_type=media_type)


def add_export_routes(router: APIRouter, path: str, what: str) -> None:
    """One POST route per signal on `router`, at `path` with {signal} filled in (traces, logs,
    metrics), each storing its OTLP body with export_response."""

    def route(signal: Signal) -> Callable[[Request], Awaitable[Response]]:
        async def export(request: Request) -> Response:
            return await export_response(request, signal)

        return export

    for signal in Signal:
        router.add_api_route(
            path.format(signal=signal.value),
            route(signal),
            methods=["POST"],
            name=f"{what.replace(' ', '_').replace('/', '_')}_{signal.value}",
            openapi_extra=OTLP_OPENAPI,
            summary=f"{what} ({signal.value})",
        )


otlp_router = APIRouter(tags=["OTLP ingest"])
add_export_routes(otlp_router, "/v1/{signal}", "OTLP/HTTP export")
