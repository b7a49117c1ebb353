"""Call routes: the call explorer (list, filters, search, CSV) and one call (record, turns, timeline, logs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.panels import parse_names, parse_range
from livekit_dashboard.api.services import services
from livekit_dashboard.query import CALL_LIST_SORTS, CallSearch, call_recording, calls_csv, get_call, search_calls

__all__ = ["calls_router"]

calls_router = APIRouter(prefix="/api/v1", tags=["Calls"])

_CSV_MAX = 10_000


@calls_router.get("/calls", summary="Calls, newest first: filter, search, sort, page; JSON or CSV")
async def calls(
    request: Request,
    start: Annotated[str, Query(description="Calls started at or after: ISO 8601 or now-6h. Default now-6h.")] = "",
    end: Annotated[str, Query(description="…and before: ISO 8601 or now-relative. Default now.")] = "",
    service: Annotated[list[str], Query(description="Only these service.name values (repeatable).")] = [],  # noqa: B006
    language: Annotated[
        list[str], Query(description="Only these SDK languages (telemetry.sdk.language, repeatable).")
    ] = [],  # noqa: B006
    agent: Annotated[str, Query(max_length=200, description="Only calls of this agent name or assistant id.")] = "",
    user: Annotated[str, Query(max_length=200, description="Only calls of this user (email).")] = "",
    has_errors: Annotated[
        bool, Query(description="Only calls with a failure (a request that failed after its retries, a failed reply).")
    ] = False,
    min_response_s: Annotated[
        float, Query(ge=0, le=3600, description="Only calls whose slowest valid response latency is at least this (s).")
    ] = 0.0,
    model: Annotated[list[str], Query(description="Only calls that used one of these models.")] = [],  # noqa: B006
    outcome: Annotated[
        Literal["", "success", "fail", "none"],
        Query(description="Only calls whose agent tagged this outcome (none: no outcome tagged)."),
    ] = "",
    simulated: Annotated[
        Literal["exclude", "include", "only"],
        Query(
            description="Simulated calls (LiveKit's agent simulations): left out (default), included, or only them. "
            "A call found by its id is found either way."
        ),
    ] = "exclude",
    q: Annotated[
        str,
        Query(
            max_length=200,
            description="Search: a call (job) id, trace id, room name or user email (at any time), or words said "
            "by the caller or the agent (calls in the range).",
        ),
    ] = "",
    active: Annotated[
        bool,
        Query(
            description="Calls going on in the range (started before its end, ended at or after its start) "
            "instead of calls started in it; what a chart bucket's click opens."
        ),
    ] = False,
    sort: Annotated[Literal[CALL_LIST_SORTS], Query(description="Sort column.")] = "started_at",  # type: ignore[valid-type]
    order: Annotated[Literal["desc", "asc"], Query(description="Sort order.")] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000, description="Calls per page (CSV: ignored, up to 10,000).")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Calls to skip.")] = 0,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv (a download).")] = "json",
) -> Any:
    start_ns, end_ns = parse_range(start, end)
    csv_out = format == "csv"
    search = CallSearch(
        start_ns=start_ns,
        end_ns=end_ns,
        services=parse_names("service", service),
        languages=parse_names("language", language),
        agent=agent.strip(),
        user=user.strip(),
        has_errors=has_errors,
        min_response_s=min_response_s,
        models=parse_names("model", model),
        outcome=outcome,
        simulated=simulated,
        q=q,
        active=active,
        sort=sort,
        descending=order == "desc",
        limit=_CSV_MAX if csv_out else limit,
        offset=0 if csv_out else offset,
    )
    total, rows = await run_in_threadpool(search_calls, services(request).engine, search)
    if csv_out:
        return Response(
            calls_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="calls.csv"', "X-Total-Count": str(total)},
        )
    return {
        "range": {"start_unix_nano": start_ns, "end_unix_nano": end_ns},
        "total": total,
        "limit": limit,
        "offset": offset,
        "calls": rows,
    }


@calls_router.get("/calls/{call_id}", summary="One call: record, turns with latency stages, timeline, errors, logs")
async def call(request: Request, call_id: str) -> dict[str, Any]:
    ident = call_id.strip()
    if not ident or len(ident) > 200:
        raise HTTPException(400, "invalid call id: give a call (job) id, room name or 32-hex trace id")
    found = await run_in_threadpool(get_call, services(request).engine, ident)
    if found is None:
        raise HTTPException(404, f"call {ident} not found")
    return found


@calls_router.get(
    "/calls/{call_id}/audio",
    summary="A call's recording (the audio its worker uploaded): the file, with HTTP range requests",
    response_class=FileResponse,
)
async def call_audio(request: Request, call_id: str) -> FileResponse:
    ident = call_id.strip()
    if not ident or len(ident) > 200:
        raise HTTPException(400, "invalid call id: give a call (job) id")
    found = await run_in_threadpool(call_recording, services(request).engine, ident)
    path = services(request).recordings.path(found["file"]) if found else None
    if found is None or path is None:
        raise HTTPException(404, f"call {ident} has no recording (none was uploaded, or it expired)")
    # FileResponse answers Range requests (206) itself: the player seeks without loading the whole file
    return FileResponse(path, media_type=found["content_type"], filename=f"{ident}{path.suffix}")
