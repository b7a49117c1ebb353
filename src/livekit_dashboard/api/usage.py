"""Usage posting: POST /v1/usage with a worker's per-call usage (SessionReport.to_dict() or a plain record)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.services import require, services
from livekit_dashboard.domain.roles import Permission
from livekit_dashboard.ingest import DecodeError, IngestUnavailableError, UsageError

__all__ = ["usage_router"]

usage_router = APIRouter(tags=["Usage records"], dependencies=[Depends(require(Permission.INGEST))])
_LIMIT = 4 * 1024 * 1024


def _answer(status: int, message: str, data: Any = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": status == 200, "message": message, "data": data}, status, headers=headers)


@usage_router.post(
    "/v1/usage",
    summary="Store one call's usage record (replaces the record derived from telemetry; idempotent)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def post_usage(request: Request) -> JSONResponse:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        return _answer(415, f"unsupported content type {media or 'none'!r}: send application/json")
    body = await request.body()
    if len(body) > _LIMIT:
        return _answer(413, f"body exceeds the limit of {_LIMIT} bytes")
    try:
        accepted = await run_in_threadpool(services(request).ingestor.post_usage, body)
    except DecodeError as exc:
        return _answer(exc.status, exc.message)
    except UsageError as exc:
        return _answer(400, f"invalid usage record: {exc}")
    except IngestUnavailableError as exc:
        return _answer(503, str(exc), headers={"Retry-After": str(exc.retry_after_s)})
    return _answer(200, "Usage record stored", {"call_id": accepted.call_id, "format": accepted.kind})
