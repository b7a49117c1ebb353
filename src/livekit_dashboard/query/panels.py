"""Panels: the registry of dashboard panels (one SQL file each) and how to run one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["PANELS", "Panel", "PanelQuery", "header_params", "list_filter_values", "run_panel"]

COMMON = ("start", "end", "services", "languages", "models")


@dataclass(frozen=True, slots=True)
class Panel:
    name: str
    title: str
    description: str
    unit: str  # tokens, ratio, requests, calls, ms, turns, rows, usd
    kind: str  # stat, timeseries, pie, table
    params: tuple[str, ...]  # the SQL parameters, from the file's header
    # what a model filter keeps: "requests" of the model, "calls" that used it, or both (a contract
    # test checks it against the SQL); "" when the panel takes no model filter
    model_filter: str = ""
    thresholds: tuple[float, ...] = ()
    # a <name>_hourly.sql variant reads a rollup for whole-hour buckets, unless one of these
    # parameters is set (None: no variant)
    hourly_unless: tuple[str, ...] | None = None

    def uses_hourly(self, query: PanelQuery) -> bool:
        """Whether `query` runs the hourly variant: whole-hour buckets over a range holding a whole hour."""
        if self.hourly_unless is None or query.step_s % 3600:
            return False
        values = query.values()
        if any(values[name] for name in self.hourly_unless):
            return False
        hour_ns = 3600 * 10**9
        return -(-query.start_ns // hour_ns) < query.end_ns // hour_ns


@dataclass(frozen=True, slots=True)
class PanelQuery:
    """Resolved request parameters; each panel binds the subset its SQL declares."""

    start_ns: int
    end_ns: int
    step_s: int
    services: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    by_model: bool = False
    threshold: int = 3
    limit: int = 50
    offset: int = 0
    min_severity: int = 0
    text: str = ""
    group: str = ""
    by: str = ""
    simulated: str = "exclude"  # the call-record panels: production calls, a simulation's, or both

    def values(self) -> dict[str, Any]:
        return {
            "start": format_ch_time(self.start_ns),
            "end": format_ch_time(self.end_ns),
            "services": list(self.services),
            "languages": list(self.languages),
            "models": list(self.models),
            "step_s": self.step_s,
            "by_model": int(self.by_model),
            "threshold": self.threshold,
            "limit": self.limit,
            "offset": self.offset,
            "min_severity": self.min_severity,
            "text": self.text,
            "group": self.group,
            "by": self.by,
            "simulated": self.simulated,
        }


_PARAMS_LINE = re.compile(r"^-- params: (.*)$", re.MULTILINE)
_PARAM = re.compile(r"(\w+) [A-Z]\w*(?:\([^)]*\))?")


def header_params(sql: str) -> tuple[str, ...]:
    """Parameter names from a SQL file's `-- params:` header line."""
    match = _PARAMS_LINE.search(sql)
    if not match:
        return ()
    return tuple(m.group(1) for m in _PARAM.finditer(match.group(1)))


def _panel(
    name: str,
    title: str,
    unit: str,
    kind: str,
    model_filter: str = "",
    thresholds: tuple[float, ...] = (),
    hourly_unless: tuple[str, ...] | None = None,
) -> Panel:
    sql = load_sql(name)
    description = sql.splitlines()[1].removeprefix("-- ").strip()
    return Panel(name, title, description, unit, kind, header_params(sql), model_filter, thresholds, hourly_unless)


PANELS: dict[str, Panel] = {
    p.name: p
    for p in (
        _panel("token_usage_totals", "Total token usage", "tokens", "stat", "requests"),
        _panel("error_rate", "Errors", "ratio", "stat", "requests and calls", thresholds=(0.05, 0.10)),
        _panel("turns_per_conversation", "Turns per conversation", "turns", "stat", "calls"),
        _panel("token_usage_over_time", "Token usage over time", "tokens", "timeseries", "requests"),
        _panel("model_distribution", "Model distribution", "requests", "pie", "requests"),
        _panel("requests_over_time", "LLM requests over time", "requests", "timeseries", "requests"),
        _panel("conversations_over_time", "Conversations over time", "calls", "timeseries", "calls"),
        # a model filter on turns needs each turn's trace: the exact SQL
        _panel(
            "latency_p95_over_time",
            "Response latency (p50 / p95 / p99)",
            "ms",
            "timeseries",
            "calls",
            hourly_unless=("models",),
        ),
        _panel(
            "latency_stages_over_time",
            "Where the response time goes (per stage)",
            "ms",
            "timeseries",
            "calls",
            hourly_unless=("models",),
        ),
        _panel("slowest_turns", "Slowest responses", "rows", "table", "calls"),
        _panel("turn_taking", "Interruptions", "ratio", "timeseries", "calls"),
        _panel(
            "http_request_duration_over_time",
            "Outbound request duration",
            "ms",
            "timeseries",
            "requests",
            hourly_unless=(),
        ),
        _panel(
            "tts_duration_over_time",
            "TTS duration and time to first byte",
            "ms",
            "timeseries",
            "requests",
            hourly_unless=(),
        ),
        _panel("services_languages", "Services and SDK languages", "rows", "table"),
        _panel("speech_usage", "Speech usage (TTS and STT)", "rows", "table"),
        _panel("conversations_below_threshold", "Conversations below the turn threshold", "calls", "table", "calls"),
        _panel("error_groups", "Errors by cause", "rows", "table", "calls"),
        _panel("error_records", "Error records", "rows", "table", "calls"),
        _panel("logs", "Logs", "rows", "table"),
        _panel("outcomes_over_time", "Outcomes and judge verdicts", "ratio", "timeseries", "calls"),
        _panel("cost_totals", "Cost", "usd", "stat", "calls"),
        _panel("cost_over_time", "Cost over time", "usd", "timeseries", "calls"),
        _panel("cost_by", "Cost per agent or user", "usd", "table", "calls"),
        _panel("cost_models", "Cost per model (and unpriced models)", "usd", "table", "calls"),
    )
}


def run_panel(engine: Engine, name: str, query: PanelQuery) -> list[dict[str, Any]]:
    """Run one panel's SQL with the parameters its header declares (KeyError for unknown names)."""
    panel = PANELS[name]
    values = query.values()
    sql = load_sql(f"{name}_hourly" if panel.uses_hourly(query) else name)
    return engine.query(sql, {key: values[key] for key in panel.params})


def list_filter_values(engine: Engine, start_ns: int, end_ns: int) -> dict[str, Any]:
    """Services, SDK languages and models (each with the stages it served) seen in the range, most used
    first."""
    rows = engine.query(load_sql("filter_values"), {"start": format_ch_time(start_ns), "end": format_ch_time(end_ns)})
    out: dict[str, Any] = {"services": [], "languages": [], "models": []}
    for row in rows:
        if row["kind"] == "model":
            out["models"].append({"model": row["value"], "stages": row["stages"]})
        else:
            out[row["kind"] + "s"].append(row["value"])
    return out
