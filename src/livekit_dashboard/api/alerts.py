"""Alert routes (super-admin): the rules with their current state, create / replace / delete / mute a
rule made through the API (rules from the rules file are read-only here), test-fire a rule to its
channels, the alert history and the delivery log. docs/alerts.md documents rules and payloads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from livekit_dashboard.api.services import require, services
from livekit_dashboard.domain.alerts import MEASURES, Rule, RuleError, parse_rule
from livekit_dashboard.domain.roles import Permission

__all__ = ["alerts_router"]

alerts_router = APIRouter(prefix="/api/v1/alerts", tags=["Alerts"], dependencies=[Depends(require(Permission.ADMIN))])


def _described(request: Request, rule: Rule) -> dict[str, Any]:
    state = services(request).alerts.state(rule.id)
    return {
        **rule.to_spec(),
        "source": rule.source,
        "state": {"status": state.status, "since_unix_s": state.since or None, "value": state.value},
    }


def _find(request: Request, rule_id: str) -> Rule:
    found = next((r for r in services(request).alerts.rules() if r.id == rule_id), None)
    if found is None:
        raise HTTPException(404, f"no alert rule {rule_id!r}; GET /api/v1/alerts lists them")
    return found


def _writable(request: Request, rule_id: str) -> None:
    if any(r.id == rule_id for r in services(request).alerts.file_rules):
        raise HTTPException(409, f"alert rule {rule_id!r} comes from the rules file: change it there")


class RuleIn(BaseModel):
    """A rule: `measure` (GET /api/v1/alerts lists them) compared with `op` and `threshold` over the last
    `window` (seconds, or 5m / 1h), beyond it for `for` before firing (and back for as long before
    resolving); `filters` narrow it (service, agent, user, model: which apply depends on the measure);
    `channels` get the notifications."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "name": "Slow responses",
        "measure": "response_p95_s",
        "op": ">",
        "threshold": 2.5,
        "window": "10m",
        "for": "5m",
        "filters": {"service": "support-agent"},
        "channels": [{"kind": "slack", "url": "https://hooks.slack.com/services/T000/B000/XXXX"}],
    }]})  # fmt: skip


def _parse(body: dict[str, Any], rule_id: str | None = None) -> Rule:
    if rule_id is not None:
        if body.get("id") not in (None, rule_id):
            raise HTTPException(400, f"the body's id {body['id']!r} is not the path's {rule_id!r}")
        body = {**body, "id": rule_id}
    try:
        return parse_rule(body)
    except RuleError as exc:
        raise HTTPException(400, f"not an alert rule: {exc}") from None


@alerts_router.get("", summary="Alert rules with their state, and the measures a rule can watch")
async def list_alerts(request: Request) -> dict[str, Any]:
    rules = await run_in_threadpool(services(request).alerts.rules)
    return {
        "rules": [_described(request, r) for r in rules],
        "measures": [
            {"name": m.name, "description": m.description, "unit": m.unit, "filters": list(m.filters)}
            for m in MEASURES.values()
        ],
    }


@alerts_router.get(
    "/events",
    summary="Alert history, newest first (of one rule or all), with delivery counts and the calls behind each",
)
async def alert_events(
    request: Request,
    rule_id: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = await run_in_threadpool(services(request).alerts.events, rule_id, limit)
    return {"events": rows}


@alerts_router.get("/deliveries", summary="The delivery log, newest first (of one event or all)")
async def alert_deliveries(
    request: Request,
    event_id: Annotated[str, Query(max_length=64)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    rows = await run_in_threadpool(services(request).alerts.store.deliveries, event_id, limit)
    return {"deliveries": rows}


@alerts_router.get("/{rule_id}", summary="One alert rule with its state")
async def get_alert(request: Request, rule_id: str) -> dict[str, Any]:
    rule = await run_in_threadpool(_find, request, rule_id)
    return _described(request, rule)


@alerts_router.post("", status_code=201, summary="Create an alert rule (409 if its id exists)")
async def create_alert(request: Request, body: RuleIn) -> dict[str, Any]:
    rule = _parse(body.model_dump())
    alerts = services(request).alerts
    if any(r.id == rule.id for r in await run_in_threadpool(alerts.rules)):
        raise HTTPException(409, f"alert rule {rule.id!r} exists: PUT /api/v1/alerts/{rule.id} replaces it")
    await run_in_threadpool(alerts.store.put, rule)
    return _described(request, rule)


@alerts_router.put("/{rule_id}", summary="Create or replace an alert rule made through the API")
async def put_alert(request: Request, rule_id: str, body: RuleIn) -> dict[str, Any]:
    _writable(request, rule_id)
    rule = _parse(body.model_dump(), rule_id)
    await run_in_threadpool(services(request).alerts.store.put, rule)
    return _described(request, rule)


@alerts_router.delete("/{rule_id}", summary="Delete an alert rule made through the API")
async def delete_alert(request: Request, rule_id: str) -> dict[str, Any]:
    _writable(request, rule_id)
    await run_in_threadpool(_find, request, rule_id)
    await run_in_threadpool(services(request).alerts.store.delete, rule_id)
    return {"deleted": rule_id}


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    muted: bool


@alerts_router.post("/{rule_id}/mute", summary="Mute or unmute a rule: it is still evaluated and recorded, not sent")
async def mute_alert(request: Request, rule_id: str, body: MuteIn) -> dict[str, Any]:
    _writable(request, rule_id)
    rule = await run_in_threadpool(_find, request, rule_id)
    spec = {**rule.to_spec(), "muted": body.muted}
    changed = _parse(spec, rule_id)
    await run_in_threadpool(services(request).alerts.store.put, changed)
    return _described(request, changed)


@alerts_router.post("/{rule_id}/test", summary="Send a test notification with the measure's value now")
async def test_alert(request: Request, rule_id: str) -> dict[str, Any]:
    alerts = services(request).alerts
    rule = await run_in_threadpool(_find, request, rule_id)
    if not rule.channels:
        raise HTTPException(400, f"alert rule {rule_id!r} has no channels to test")
    event = await run_in_threadpool(alerts.test_fire, rule)
    return {"event_id": event.event_id, "value": event.value, "summary": event.summary, "channels": len(rule.channels)}
