"""Panel routes: list the dashboard panels, run one with time range and filters."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.services import services
from livekit_dashboard.domain.timerange import choose_step_s, parse_duration_s, parse_time_ns
from livekit_dashboard.query import PANELS, PanelQuery, list_filter_values, run_panel

__all__ = ["panels_router", "parse_names", "parse_range"]

panels_router = APIRouter(prefix="/api/v1", tags=["Dashboard panels"])

_DEFAULT_RANGE = "now-6h"
_MAX_LIST = 50


def _bad(param: str, message: str) -> HTTPException:
    return HTTPException(400, f"invalid parameter {param}: {message}")


def parse_range(start: str, end: str) -> tuple[int, int]:
    now = time.time_ns()
    try:
        start_ns = parse_time_ns(start or _DEFAULT_RANGE, now)
    except ValueError as exc:
        raise _bad("start", str(exc)) from None
    try:
        end_ns = parse_time_ns(end or "now", now)
    except ValueError as exc:
        raise _bad("end", str(exc)) from None
    if end_ns <= start_ns:
        raise _bad("end", "must be after start")
    return start_ns, end_ns


def parse_names(param: str, values: list[str]) -> tuple[str, ...]:
    if len(values) > _MAX_LIST:
        raise _bad(param, f"at most {_MAX_LIST} values")
    return tuple(v for v in values if v)


@panels_router.get("/panels", summary="The dashboard panels: name, title, description, unit, params")
async def list_panels() -> dict[str, Any]:
    return {
        "panels": [
            {
                "name": p.name,
                "title": p.title,
                "description": p.description,
                "unit": p.unit,
                "kind": p.kind,
                "params": list(p.params),
                "model_filter": p.model_filter,
                "thresholds": list(p.thresholds),
            }
            for p in PANELS.values()
        ]
    }


@panels_router.get("/panels/{name}", summary="Run one panel")
async def get_panel(
    request: Request,
    name: str,
    start: Annotated[str, Query(description="ISO 8601 or now-relative (now-6h). Default now-6h.")] = "",
    end: Annotated[str, Query(description="ISO 8601 or now-relative. Default now.")] = "",
    service: Annotated[list[str], Query(description="Only these service.name values (repeatable).")] = [],  # noqa: B006
    language: Annotated[list[str], Query(description="Only these SDK languages (telemetry.sdk.language).")] = [],  # noqa: B006
    model: Annotated[
        list[str], Query(description="Only these models: requests to them, or calls that used them (model_filter).")
    ] = [],  # noqa: B006
    step: Annotated[str, Query(description="Bucket width: seconds or 30s/5m/1h/1d. Default ~120 buckets.")] = "",
    by_model: Annotated[bool, Query(description="token_usage_over_time: split series per model.")] = False,
    threshold: Annotated[int, Query(ge=1, le=1000, description="conversations_below_threshold: turns.")] = 3,
    limit: Annotated[int, Query(ge=1, le=1000, description="Table panels: rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Table panels: rows to skip.")] = 0,
    min_severity: Annotated[
        int, Query(ge=0, le=24, description="logs: lowest severity number (9 INFO, 13 WARN, 17 ERROR).")
    ] = 0,
    text: Annotated[str, Query(max_length=200, description="logs: body contains (case-insensitive).")] = "",
    group: Annotated[
        str, Query(pattern="^([0-9a-f]{16})?$", description="error_records: one error group's occurrences.")
    ] = "",
    by: Annotated[
        str,
        Query(
            pattern="^(stage|model|service|agent|user)?$",
            description="cost_over_time: a series per stage (default), model or service; "
            "cost_by: agent (default) or user.",
        ),
    ] = "",
    simulated: Annotated[
        Literal["exclude", "include", "only"],
        Query(
            description="Calls of LiveKit agent simulations (lk.simulation.enabled): left out (default), "
            "included, or only them."
        ),
    ] = "exclude",
) -> dict[str, Any]:
    panel = PANELS.get(name)
    if panel is None:
        raise HTTPException(404, f"unknown panel {name!r}; GET /api/v1/panels lists them")
    start_ns, end_ns = parse_range(start, end)
    if step:
        try:
            step_s = parse_duration_s(step)
        except ValueError as exc:
            raise _bad("step", str(exc)) from None
        if (end_ns - start_ns) / 1e9 / step_s > 5000:
            raise _bad("step", "gives more than 5000 buckets for this range")
    else:
        step_s = choose_step_s(end_ns - start_ns)
    query = PanelQuery(
        start_ns=start_ns,
        end_ns=end_ns,
        step_s=step_s,
        services=parse_names("service", service),
        languages=parse_names("language", language),
        models=parse_names("model", model),
        by_model=by_model,
        threshold=threshold,
        limit=limit,
        offset=offset,
        min_severity=min_severity,
        text=text,
        group=group,
        by=by,
        simulated=simulated,
    )
    rows = await run_in_threadpool(run_panel, services(request).engine, name, query)
    return {
        "panel": name,
        "title": panel.title,
        "unit": panel.unit,
        "kind": panel.kind,
        "thresholds": list(panel.thresholds),
        "range": {"start_unix_nano": start_ns, "end_unix_nano": end_ns, "step_s": step_s},
        "rows": rows,
    }


@panels_router.get("/filters", summary="Services, SDK languages and models (with their stages) seen in the range")
async def filters(request: Request, start: str = "", end: str = "") -> dict[str, Any]:
    start_ns, end_ns = parse_range(start, end)
    return await run_in_threadpool(list_filter_values, services(request).engine, start_ns, end_ns)
