"""Usage posting: POST /v1/usage with a worker's per-call usage (SessionReport.to_dict() or a plain record)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.auth import INGEST_ROLES, require
from livekit_dashboard.ingest import Ingestor, QueueFullError
from livekit_dashboard.ingest.usage import UsageError, parse_usage, usage_table
from livekit_dashboard.store import StorageError

__all__ = ["usage_router"]

usage_router = APIRouter(tags=["Usage records"], dependencies=[Depends(require(INGEST_ROLES))])
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
        document = json.loads(body)
        row, kind = parse_usage(document)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _answer(400, f"malformed JSON: {exc}")
    except UsageError as exc:
        return _answer(400, f"invalid usage record: {exc}")
    ingestor: Ingestor = request.app.state.ingestor
    try:
        await run_in_threadpool(ingestor.batcher.submit, {"lk_usage_posted": usage_table(row)})
    except QueueFullError as exc:
        return _answer(503, str(exc), headers={"Retry-After": str(exc.retry_after_s)})
    except StorageError as exc:
        return _answer(503, f"storage unavailable: {exc}", headers={"Retry-After": "5"})
    return _answer(200, "Usage record stored", {"call_id": row["CallId"], "format": kind})
