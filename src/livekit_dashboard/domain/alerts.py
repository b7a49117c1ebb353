"""Alerts: a rule watches one measure the dashboard computes over a sliding window, with a threshold and
a "for" duration; it fires when the measure has been beyond the threshold for that long, and resolves
when it has been back for that long. Pure: rules in (parsed and checked here), transitions and the
notification payloads out. query/alerts.py computes the measures; api/alerting.py runs the rules and
delivers the notifications.

Flapping: a value that crosses the threshold back and forth faster than `for` changes nothing (a
firing rule stays firing, a quiet one quiet); a value exactly at the threshold is not beyond it. A
measure without data in its window (no calls, no requests) is not beyond any threshold.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from livekit_dashboard.domain.timerange import parse_duration_s

__all__ = [
    "CHANNEL_KINDS",
    "MEASURES",
    "Channel",
    "Measure",
    "Rule",
    "RuleError",
    "RuleState",
    "Transition",
    "calls_query",
    "event_id",
    "parse_rule",
    "slack_message",
    "step",
    "summary",
    "webhook_payload",
]


class RuleError(ValueError):
    """A rule that is not one; the message names the field."""


@dataclass(frozen=True, slots=True)
class Measure:
    name: str
    description: str
    unit: str
    # how query/alerts.py computes it: a panel (token_usage_totals, error_rate), the turns (latency), the
    # settled calls, or (ingest) the server's own counters
    source: Literal["panels", "turns", "calls", "ingest"]
    filters: tuple[str, ...]  # which of service, agent, user, model narrow it


MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure(
            "response_p95_s",
            "p95 response latency: the caller's end of speech to the agent's first audio (valid responses "
            "of agent turns, as the latency panel counts them)",
            "s",
            "turns",
            ("service", "model"),
        ),
        Measure("error_rate_turns", "failed agent turns / agent turns", "ratio", "panels", ("service", "model")),
        Measure(
            "error_rate_requests",
            "provider requests that failed after their retries / provider requests",
            "ratio",
            "panels",
            ("service", "model"),
        ),
        Measure("tokens", "LLM and realtime tokens (input + output)", "tokens", "panels", ("service", "model")),
        Measure(
            "calls_with_failure",
            "calls (started in the window) with a failure: a request that failed after its retries or a failed reply",
            "calls",
            "calls",
            ("service", "agent", "user", "model"),
        ),
        Measure(
            "error_rate_calls",
            "calls with a failure / calls (started in the window)",
            "ratio",
            "calls",
            ("service", "agent", "user", "model"),
        ),
        Measure(
            "cost_usd",
            "what the calls started in the window cost, in US dollars (a 1h window: cost per hour)",
            "usd",
            "calls",
            ("service", "agent", "user", "model"),
        ),
        Measure(
            "outcome_failure_rate",
            "calls the agent tagged fail / calls with an outcome (started in the window)",
            "ratio",
            "calls",
            ("service", "agent", "user", "model"),
        ),
        Measure(
            "ingest_rejected",
            "spans, log records and data points ingest rejected (invalid) in the window",
            "items",
            "ingest",
            (),
        ),
        Measure("ingest_refused", "requests ingest refused (queue full, 503) in the window", "requests", "ingest", ()),
    )
}

CHANNEL_KINDS = ("webhook", "slack", "apprise")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_FILTERS = ("service", "agent", "user", "model")


@dataclass(frozen=True, slots=True)
class Channel:
    """Where notifications go: `webhook` (POST of the documented JSON payload), `slack` (a Slack
    incoming-webhook URL) or `apprise` (any URL the apprise library reaches: email, Teams, PagerDuty…)."""

    kind: str
    url: str

    @property
    def label(self) -> str:
        """The channel without its secret parts (for logs and the delivery log)."""
        if self.kind == "apprise":
            return f"apprise:{self.url.split('://', 1)[0]}"
        match = re.match(r"^(https?://[^/]+)", self.url)
        return f"{self.kind}:{match.group(1) if match else '?'}"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    measure: str
    op: Literal[">", "<"]
    threshold: float
    window_s: int
    for_s: int = 0
    filters: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[Channel, ...] = ()
    enabled: bool = True
    muted: bool = False
    source: str = "api"  # api, or file (read-only through the API)

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        return value > self.threshold if self.op == ">" else value < self.threshold

    def to_spec(self) -> dict[str, Any]:
        """The rule as the API and the rules file take it (parse_rule reads it back)."""
        return {
            "id": self.id,
            "name": self.name,
            "measure": self.measure,
            "op": self.op,
            "threshold": self.threshold,
            "window": self.window_s,
            "for": self.for_s,
            "filters": dict(self.filters),
            "channels": [{"kind": c.kind, "url": c.url} for c in self.channels],
            "enabled": self.enabled,
            "muted": self.muted,
        }


def _duration(value: Any, name: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = int(value)
    elif isinstance(value, str) and re.fullmatch(r"\s*0+[smhd]?\s*", value):
        seconds = 0
    elif isinstance(value, str):
        try:
            seconds = parse_duration_s(value)
        except ValueError as exc:
            raise RuleError(f"{name}: {exc}") from None
    else:
        raise RuleError(f"{name}: a duration in seconds or like 5m, got {value!r}")
    if seconds < 0 or seconds > 31 * 86400:
        raise RuleError(f"{name}: must lie between 0 and 31 days, got {seconds} s")
    return seconds


def _channels(raw: Any) -> tuple[Channel, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleError("channels: a list of {kind, url}")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise RuleError(f"channels[{i}]: an object with kind and url")
        kind, url = item.get("kind"), item.get("url")
        if kind not in CHANNEL_KINDS:
            raise RuleError(f"channels[{i}].kind: one of {', '.join(CHANNEL_KINDS)}, got {kind!r}")
        if not isinstance(url, str) or not url.strip():
            raise RuleError(f"channels[{i}].url: required")
        if kind != "apprise" and not re.match(r"^https?://", url):
            raise RuleError(f"channels[{i}].url: an http(s) URL, got {url[:60]!r}")
        out.append(Channel(kind, url.strip()))
    return tuple(out)


def parse_rule(raw: Mapping[str, Any], *, source: str = "api") -> Rule:
    """A rule from its JSON/YAML form; RuleError naming the field that is wrong."""
    if not isinstance(raw, Mapping):
        raise RuleError("a rule is an object")
    known = {"id", "name", "measure", "op", "threshold", "window", "for", "filters", "channels", "enabled", "muted"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RuleError(f"unknown field(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    name = str(raw.get("name") or "").strip()
    if not name or len(name) > 200:
        raise RuleError("name: 1 to 200 characters")
    rule_id = str(raw.get("id") or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63] or "rule")
    if not _ID.match(rule_id):
        raise RuleError(f"id: lowercase letters, digits, - and _ (up to 63), got {rule_id!r}")
    measure = raw.get("measure")
    if measure not in MEASURES:
        raise RuleError(f"measure: one of {', '.join(MEASURES)}, got {measure!r}")
    op = raw.get("op", ">")
    if op not in (">", "<"):
        raise RuleError(f"op: > or <, got {op!r}")
    threshold = raw.get("threshold")
    if not isinstance(threshold, int | float) or isinstance(threshold, bool):
        raise RuleError(f"threshold: a number, got {threshold!r}")
    window_s = _duration(raw.get("window", "5m"), "window")
    if window_s < 60:
        raise RuleError(f"window: at least 60 s, got {window_s} s")
    for_s = _duration(raw.get("for", 0), "for")
    filters_raw = raw.get("filters") or {}
    if not isinstance(filters_raw, Mapping):
        raise RuleError("filters: an object (service, agent, user, model)")
    filters = {str(k): str(v) for k, v in filters_raw.items() if v not in (None, "")}
    allowed = MEASURES[str(measure)].filters
    for key in filters:
        if key not in _FILTERS:
            raise RuleError(f"filters.{key}: unknown (known: {', '.join(_FILTERS)})")
        if key not in allowed:
            raise RuleError(
                f"filters.{key}: {measure} cannot be narrowed by {key} (it can by: {', '.join(allowed) or 'nothing'})"
            )
    return Rule(
        id=rule_id,
        name=name,
        measure=str(measure),
        op=op,
        threshold=float(threshold),
        window_s=window_s,
        for_s=for_s,
        filters=filters,
        channels=_channels(raw.get("channels")),
        enabled=bool(raw.get("enabled", True)),
        muted=bool(raw.get("muted", False)),
        source=source,
    )


@dataclass(slots=True)
class RuleState:
    """Where a rule is: ok, pending (beyond the threshold, not yet for long enough) or firing; `since`
    when that began, `clear_since` when a firing rule's measure came back (unix seconds)."""

    status: Literal["ok", "pending", "firing"] = "ok"
    since: float = 0.0
    clear_since: float | None = None
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    state: Literal["firing", "resolved"]
    value: float | None


def step(rule: Rule, state: RuleState, value: float | None, now: float) -> Transition | None:
    """Advance `state` (in place) with the measure's value at `now`; the event to send, if any."""
    state.value = value
    beyond = rule.breached(value)
    if state.status == "firing":
        if beyond:
            state.clear_since = None
            return None
        state.clear_since = state.clear_since if state.clear_since is not None else now
        if now - state.clear_since >= rule.for_s:
            state.status, state.since, state.clear_since = "ok", now, None
            return Transition("resolved", value)
        return None
    if not beyond:
        state.status, state.since = "ok", now if state.status != "ok" else state.since
        return None
    if state.status == "ok":
        state.status, state.since = "pending", now
    if now - state.since >= rule.for_s:
        state.status, state.since, state.clear_since = "firing", now, None
        return Transition("firing", value)
    return None


_FAILURE_MEASURES = ("calls_with_failure", "error_rate_calls", "error_rate_turns", "error_rate_requests")
# the call list's order that puts a measure's culprits first
_SORT = {"response_p95_s": "response_max_s", "cost_usd": "cost_usd"}


def _iso(unix_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_ms / 1000))


def calls_query(measure: str, filters: Mapping[str, str], window: tuple[int, int]) -> dict[str, str]:
    """The call list's parameters (/calls, GET /api/v1/calls) that show the calls behind a measure over
    a window (unix ms): those of its filters, with failures for the failure measures, tagged fail for
    the outcome measure, the slowest or costliest first."""
    # a call that ends in the window may have started a little before its last minute
    params = {"start": _iso(window[0]), "end": _iso(window[1] + 60_000)}
    params |= {key: filters[key] for key in _FILTERS if filters.get(key)}
    if measure in _FAILURE_MEASURES:
        params["has_errors"] = "true"
    if measure == "outcome_failure_rate":
        params["outcome"] = "fail"
    if measure in _SORT:
        params["sort"] = _SORT[measure]
    return params


def event_id(rule: Rule, state: str, at_ms: int) -> str:
    return hashlib.sha256(f"{rule.id}|{state}|{at_ms}".encode()).hexdigest()[:16]


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "no data"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:,.0f}"


def summary(rule: Rule, state: str, value: float | None) -> str:
    """One line: what the rule says now."""
    unit = MEASURES[rule.measure].unit
    where = ", ".join(f"{k}={v}" for k, v in sorted(rule.filters.items()))
    scope = f" ({where})" if where else ""
    verb = {"firing": "is", "resolved": "is back at", "test": "test: now"}.get(state, "is")
    return (
        f"{rule.name}: {rule.measure}{scope} {verb} {_fmt(value, unit)} over the last {rule.window_s // 60} min "
        f"(threshold {rule.op} {_fmt(rule.threshold, unit)})"
    )


def webhook_payload(
    rule: Rule, state: str, value: float | None, at_ms: int, window: tuple[int, int], links: Mapping[str, str]
) -> dict[str, Any]:
    """The JSON a webhook channel receives (docs/alerts.md documents it; `version` changes if it does)."""
    return {
        "version": 1,
        "event_id": event_id(rule, state, at_ms),
        "state": state,
        "summary": summary(rule, state, value),
        "value": value,
        "at_unix_ms": at_ms,
        "window": {"start_unix_ms": window[0], "end_unix_ms": window[1]},
        "rule": {
            "id": rule.id,
            "name": rule.name,
            "measure": rule.measure,
            "unit": MEASURES[rule.measure].unit,
            "op": rule.op,
            "threshold": rule.threshold,
            "window_s": rule.window_s,
            "for_s": rule.for_s,
            "filters": dict(rule.filters),
        },
        "links": dict(links),
    }


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message for a webhook payload."""
    icon = {"firing": ":rotating_light:", "resolved": ":white_check_mark:", "test": ":information_source:"}
    state = str(payload["state"])
    links = payload.get("links") or {}
    link = f" <{links['calls']}|the calls>" if links.get("calls") else ""
    text = f"{icon.get(state, '')} *{state.upper()}* {payload['summary']}{link}".strip()
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
