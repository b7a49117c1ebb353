"""Alerts in storage: the rules made through the API, the events they raised and the delivery log; and
the measures a rule watches, computed the way the panels compute them (the token and error-rate
measures run the panels themselves; latency and the call measures run SQL on the same definitions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from livekit_dashboard.domain.alerts import MEASURES, Rule, parse_rule
from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.query.panels import PanelQuery, run_panel
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["AlertEvent", "AlertStore", "measure_value"]


def _filters(rule: Rule, start_ns: int, end_ns: int) -> dict[str, Any]:
    f = rule.filters
    return {
        "start": format_ch_time(start_ns),
        "end": format_ch_time(end_ns),
        "services": [f["service"]] if f.get("service") else [],
        "languages": [],
        "models": [f["model"]] if f.get("model") else [],
        "simulated": "exclude",
        "agent": f.get("agent", ""),
        "user": f.get("user", ""),
    }


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def measure_value(engine: Engine, rule: Rule, start_ns: int, end_ns: int) -> float | None:
    """The rule's measure over [start, end) (None: no data to judge, e.g. no calls). Ingest measures are
    process counters: api/alerting.py computes those."""
    source = MEASURES[rule.measure].source
    values = _filters(rule, start_ns, end_ns)
    if source == "panels":
        query = PanelQuery(
            start_ns=start_ns,
            end_ns=end_ns,
            step_s=max(60, (end_ns - start_ns) // 10**9),
            services=tuple(values["services"]),
            models=tuple(values["models"]),
        )
        if rule.measure == "tokens":
            (row,) = run_panel(engine, "token_usage_totals", query)
            return float(row["input_tokens"] + row["output_tokens"])
        (row,) = run_panel(engine, "error_rate", query)
        if rule.measure == "error_rate_requests":
            return _ratio(row["failed_requests"], row["requests"])
        return _ratio(row["failed_turns"], row["turns"])
    if source == "turns":
        (row,) = engine.query(load_sql("alert_turns"), values)
        return None if row["p95_s"] is None else float(row["p95_s"])
    if source == "calls":
        (row,) = engine.query(load_sql("alert_calls"), values)
        if rule.measure == "calls_with_failure":
            return float(row["failed_calls"])
        if rule.measure == "error_rate_calls":
            return _ratio(row["failed_calls"], row["calls"])
        if rule.measure == "cost_usd":
            return float(row["cost_usd"])
        return _ratio(row["failed_outcomes"], row["outcomes"])
    raise ValueError(f"{rule.measure} is not computed from storage")


@dataclass(frozen=True, slots=True)
class AlertEvent:
    event_id: str
    rule: Rule
    state: str  # firing, resolved, test
    at_ms: int
    value: float | None
    summary: str
    window: tuple[int, int]  # unix ms


class AlertStore:
    """The rules made through the API, the events and the delivery log."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def rules(self) -> list[Rule]:
        rows = self._engine.query(load_sql("alert_rules"))
        return [parse_rule(json.loads(r["spec"]), source="api") for r in rows]

    def put(self, rule: Rule) -> None:
        self._write(rule.id, json.dumps(rule.to_spec()), deleted=False)

    def delete(self, rule_id: str) -> None:
        self._write(rule_id, "{}", deleted=True)

    def _write(self, rule_id: str, spec: str, *, deleted: bool) -> None:
        self._engine.command(load_sql("alert_rule_write"), {"rule_id": rule_id, "spec": spec, "deleted": int(deleted)})

    def record(self, event: AlertEvent) -> None:
        self._engine.command(
            load_sql("alert_event_write"),
            {
                "event_id": event.event_id,
                "rule_id": event.rule.id,
                "rule_name": event.rule.name,
                "at_ms": event.at_ms,
                "state": event.state,
                "measure": event.rule.measure,
                "value": event.value,
                "threshold": event.rule.threshold,
                "summary": event.summary,
                "window_start_ms": event.window[0],
                "window_end_ms": event.window[1],
            },
        )

    def events(self, rule_id: str = "", limit: int = 100) -> list[dict[str, Any]]:
        return self._engine.query(load_sql("alert_events"), {"rule_id": rule_id, "limit": limit})

    def last_transitions(self) -> list[dict[str, Any]]:
        """rule_id, state (firing or resolved), at_ms, value of each rule's newest transition."""
        return self._engine.query(load_sql("alert_states"))

    def log_delivery(self, event: AlertEvent, channel: str, attempt: int, ok: bool, detail: str) -> None:
        self._engine.command(
            load_sql("alert_delivery_write"),
            {
                "event_id": event.event_id,
                "rule_id": event.rule.id,
                "channel": channel,
                "attempt": attempt,
                "ok": int(ok),
                "detail": detail[:500],
            },
        )

    def deliveries(self, event_id: str = "", limit: int = 200) -> list[dict[str, Any]]:
        return self._engine.query(load_sql("alert_deliveries"), {"event_id": event_id, "limit": limit})
