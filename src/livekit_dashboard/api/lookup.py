"""Lookup routes: a trace with all its spans, log lists and single log entries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.services import services
from livekit_dashboard.domain.ids import parse_log_id, parse_span_id, parse_trace_id
from livekit_dashboard.query import get_log, get_trace, list_logs

__all__ = ["lookup_router"]

lookup_router = APIRouter(prefix="/api/v1", tags=["Traces and logs"])


def _parse(parser: Any, text: str) -> Any:
    try:
        return parser(text)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


@lookup_router.get("/traces/{trace_id}", summary="Every span of one trace")
async def trace(request: Request, trace_id: str) -> dict[str, Any]:
    tid = _parse(parse_trace_id, trace_id)
    found = await run_in_threadpool(get_trace, services(request).engine, tid)
    if found is None:
        raise HTTPException(404, f"trace {tid} not found")
    return found


@lookup_router.get("/logs", summary="Log records, newest first")
async def logs(
    request: Request,
    trace_id: Annotated[str, Query(description="Only logs of this trace (32 hex chars).")] = "",
    span_id: Annotated[str, Query(description="Only logs of this span (16 hex chars).")] = "",
    limit: Annotated[int, Query(ge=1, le=1000, description="Most records returned.")] = 100,
) -> dict[str, Any]:
    tid = _parse(parse_trace_id, trace_id) if trace_id else ""
    sid = _parse(parse_span_id, span_id) if span_id else ""
    rows = await run_in_threadpool(lambda: list_logs(services(request).engine, trace_id=tid, span_id=sid, limit=limit))
    return {"logs": rows}


@lookup_router.get("/logs/{log_id}", summary="One log record with all its fields")
async def log_entry(request: Request, log_id: str) -> dict[str, Any]:
    parsed = _parse(parse_log_id, log_id)
    found = await run_in_threadpool(get_log, services(request).engine, parsed)
    if found is None:
        raise HTTPException(404, f"log {log_id} not found")
    return found
