"""Admin analytics: token, TTS, STT and call usage from the per-call usage records (super-admin only).

Every answer is the `{success, message, data}` envelope, errors included."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.errors import EnvelopeError, envelope
from livekit_dashboard.api.services import require, services
from livekit_dashboard.domain.roles import Permission
from livekit_dashboard.domain.timerange import parse_iso8601_ns
from livekit_dashboard.query import (
    CALL_SORT_FIELDS,
    GRANULARITIES,
    UsageFilter,
    list_calls,
    sum_usage,
    summarize_calls,
)

__all__ = ["admin_router"]

_DAY_NS = 86400 * 10**9


def _date(text: str | None, param: str, default_ns: int) -> int:
    if not text:
        return default_ns
    try:
        return parse_iso8601_ns(text)
    except ValueError as exc:
        raise EnvelopeError(400, f"invalid {param}: {exc}") from None


StartDate = Annotated[
    str | None,
    Query(
        description="ISO 8601 start (inclusive); default 30 days before end_date.", examples=["2026-11-01T00:00:00Z"]
    ),
]
EndDate = Annotated[
    str | None,
    Query(
        description="ISO 8601 end (inclusive; a bare date means its whole day); default now.", examples=["2026-11-30"]
    ),
]
UserEmail = Annotated[str | None, Query(description="Only records of this user.", examples=["alice@example.com"])]
AssistantId = Annotated[str | None, Query(description="Only records of this assistant.", examples=["support"])]
Simulated = Annotated[
    Literal["exclude", "include", "only"],
    Query(description="Simulated calls (LiveKit's agent simulations): left out (default), included, or only them."),
]


def usage_filter(
    start_date: StartDate = None,
    end_date: EndDate = None,
    user_email: UserEmail = None,
    assistant_id: AssistantId = None,
    simulated: Simulated = "exclude",
) -> UsageFilter:
    """The records a request asks about: started in [start_date, end_date], of one user/assistant."""
    now = time.time_ns()
    end = _date(end_date, "end_date", now)
    # a bare date as end_date means the whole of that day
    if end_date and len(end_date.strip()) == 10:
        end += _DAY_NS - 1
    start = _date(start_date, "start_date", end - 30 * _DAY_NS)
    if start > end:
        raise EnvelopeError(400, "invalid start_date: after end_date")
    return UsageFilter(start, end, (user_email or "").strip(), (assistant_id or "").strip(), simulated)


Where = Annotated[UsageFilter, Depends(usage_filter)]

_SUMMARY_EXAMPLE = {
    "success": True,
    "message": "Token usage summary fetched successfully",
    "data": {
        "total_records": 450,
        "total_llm_input_audio_tokens": 1250000,
        "total_llm_input_text_tokens": 850000,
        "total_llm_input_cached_audio_tokens": 320000,
        "total_llm_input_cached_text_tokens": 180000,
        "total_llm_output_audio_tokens": 620000,
        "total_llm_output_text_tokens": 410000,
        "total_llm_tokens": 3130000,
        "total_tts_characters": 2150000,
        "total_tts_audio_duration": 18500.75,
        "total_call_duration_minutes": 2025.0,
        "total_stt_audio_duration": 97200.5,
        "total_cost_usd": 41.27,
        "total_cost_llm_usd": 3.91,
        "total_cost_realtime_usd": 22.6,
        "total_cost_tts_usd": 10.75,
        "total_cost_stt_usd": 4.01,
        "total_cost_excluded_usd": 0.12,
        "unpriced_records": 0,
    },
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid parameter (envelope with success=false)."},
    401: {"description": "Missing, invalid or revoked API key."},
    403: {"description": "The API key is not a super-admin key."},
    500: {"description": "Internal server error."},
}

admin_router = APIRouter(
    prefix="/admin/analytics",
    tags=["Admin analytics"],
    dependencies=[Depends(require(Permission.ADMIN))],
    responses=_ERRORS,
)


async def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)


@admin_router.get(
    "/tokens/summary",
    summary="Token usage summary",
    responses={200: {"content": {"application/json": {"example": _SUMMARY_EXAMPLE}}}},
)
async def tokens_summary(request: Request, where: Where) -> JSONResponse:
    rows = await _run(sum_usage, services(request).engine, where)
    return envelope(200, "Token usage summary fetched successfully", rows[0])


@admin_router.get("/tokens/by-user", summary="Token usage per user")
async def tokens_by_user(request: Request, where: Where) -> JSONResponse:
    rows = await _run(sum_usage, services(request).engine, where, "user")
    return envelope(200, "Token usage by user fetched successfully", rows)


@admin_router.get("/tokens/by-assistant", summary="Token usage per assistant")
async def tokens_by_assistant(request: Request, where: Where) -> JSONResponse:
    rows = await _run(sum_usage, services(request).engine, where, "assistant")
    return envelope(200, "Token usage by assistant fetched successfully", rows)


@admin_router.get("/tokens/over-time", summary="Token usage per hour, day, week or month")
async def tokens_over_time(
    request: Request,
    where: Where,
    granularity: Annotated[str, Query(description="hour, day, week or month (UTC).", examples=["day"])] = "day",
) -> JSONResponse:
    if granularity not in GRANULARITIES:
        raise EnvelopeError(400, f"invalid granularity: expected one of {', '.join(GRANULARITIES)}")
    rows = await _run(sum_usage, services(request).engine, where, granularity)
    return envelope(200, "Token usage over time fetched successfully", rows)


@admin_router.get("/calls/summary", summary="Call totals: count, duration, active users")
async def calls_summary(request: Request, where: Where) -> JSONResponse:
    data = await _run(summarize_calls, services(request).engine, where)
    return envelope(200, "Call summary fetched successfully", data)


@admin_router.get("/calls", summary="Calls with their usage (paginated, sortable)")
async def calls(
    request: Request,
    where: Where,
    sort: Annotated[str, Query(description=f"One of {', '.join(CALL_SORT_FIELDS)}.")] = "started_at",
    order: Annotated[str, Query(description="asc or desc.")] = "desc",
    page: Annotated[str, Query(description="Page number, from 1.")] = "1",
    page_size: Annotated[str, Query(description="Records per page, 1 to 500.")] = "50",
) -> JSONResponse:
    if sort not in CALL_SORT_FIELDS:
        raise EnvelopeError(400, f"invalid sort: expected one of {', '.join(CALL_SORT_FIELDS)}")
    if order not in ("asc", "desc"):
        raise EnvelopeError(400, "invalid order: expected asc or desc")
    if not page.isdigit() or not 1 <= int(page) <= 1_000_000:
        raise EnvelopeError(400, "invalid page: expected a whole number from 1")
    if not page_size.isdigit() or not 1 <= int(page_size) <= 500:
        raise EnvelopeError(400, "invalid page_size: expected a whole number from 1 to 500")
    size = int(page_size)
    total, rows = await _run(
        list_calls,
        services(request).engine,
        where,
        sort=sort,
        descending=order == "desc",
        limit=size,
        offset=(int(page) - 1) * size,
    )
    return envelope(
        200, "Calls fetched successfully", {"total": total, "page": int(page), "page_size": size, "calls": rows}
    )
