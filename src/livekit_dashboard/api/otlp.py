"""OTLP/HTTP routes: POST /v1/traces, /v1/logs, /v1/metrics."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from google.protobuf import json_format
from google.rpc import status_pb2
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.ingest import DecodeError, Ingestor, IngestUnavailableError, Signal
from livekit_dashboard.ingest.decode import Encoding, decompress, encoding_for_content_type, parse_request
from livekit_dashboard.ingest.rows import Prepared
from livekit_dashboard.store import StorageError

__all__ = ["otlp_router"]

_CONTENT_TYPES = {Encoding.PROTOBUF: "application/x-protobuf", Encoding.JSON: "application/json"}
# google.rpc.Code values for the statuses we answer with
_RPC_CODES = {400: 3, 413: 8, 415: 3, 503: 14, 500: 13}
_OPENAPI = {
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
        "503": {"description": "Queue full or storage unavailable; retry after Retry-After seconds."},
    },
}


def _error(status: int, message: str, encoding: Encoding | None, retry_after_s: int | None = None) -> Response:
    """An OTLP error: google.rpc.Status in the request's encoding (JSON when unknown)."""
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    code = _RPC_CODES.get(status, 2)
    if encoding is Encoding.PROTOBUF:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return Response(body, status, headers=headers, media_type=_CONTENT_TYPES[Encoding.PROTOBUF])
    return Response(
        json.dumps({"code": code, "message": message}), status, headers=headers, media_type="application/json"
    )


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


def _decode_and_submit(
    signal: Signal,
    encoding: Encoding,
    body: bytes,
    content_encoding: str | None,
    limit: int,
    ingestor: Ingestor,
) -> Prepared:
    raw = decompress(body, content_encoding, limit)
    prepared = ingestor.prepare(signal, parse_request(signal, encoding, raw))
    ingestor.submit(prepared)  # may wait for room in a full queue: off the event loop
    return prepared


async def _export(request: Request, signal: Signal) -> Response:
    ingestor: Ingestor = request.app.state.ingestor
    limit: int = request.app.state.max_body_bytes
    encoding: Encoding | None = None
    try:
        encoding = encoding_for_content_type(request.headers.get("content-type"))
        body = await _read_body(request, limit)
        prepared = await run_in_threadpool(
            _decode_and_submit, signal, encoding, body, request.headers.get("content-encoding"), limit, ingestor
        )
    except DecodeError as exc:
        return _error(exc.status, exc.message, encoding)
    except IngestUnavailableError as exc:
        return _error(503, str(exc), encoding, exc.retry_after_s)
    except StorageError as exc:
        return _error(503, f"storage unavailable: {exc}", encoding, 5)
    response = ingestor.response(prepared)
    if encoding is Encoding.PROTOBUF:
        return Response(response.SerializeToString(), 200, media_type=_CONTENT_TYPES[encoding])
    return Response(json_format.MessageToJson(response, indent=None), 200, media_type="application/json")


otlp_router = APIRouter(tags=["OTLP ingest"])


@otlp_router.post("/v1/traces", openapi_extra=_OPENAPI, summary="OTLP/HTTP trace export")
async def export_traces(request: Request) -> Response:
    return await _export(request, Signal.TRACES)


@otlp_router.post("/v1/logs", openapi_extra=_OPENAPI, summary="OTLP/HTTP log export")
async def export_logs(request: Request) -> Response:
    return await _export(request, Signal.LOGS)


@otlp_router.post("/v1/metrics", openapi_extra=_OPENAPI, summary="OTLP/HTTP metric export")
async def export_metrics(request: Request) -> Response:
    return await _export(request, Signal.METRICS)
