"""Retention: how long each signal is kept, applied as ClickHouse TTL on its tables.

Changing a retention rewrites the tables' TTL (ALTER ... MODIFY TTL), which also applies to rows
already stored; unchanged ones are left alone, so a restart costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from livekit_dashboard.store.engine import Engine

__all__ = ["TABLES", "Retention", "apply_retention"]

# table -> (signal, the DateTime expression its TTL counts from)
TABLES: dict[str, tuple[str, str]] = {
    "otel_traces": ("traces", "toDateTime(Timestamp)"),
    "otel_traces_trace_id_ts": ("traces", "Start"),
    "lk_requests": ("traces", "toDateTime(Timestamp)"),
    "lk_turns": ("traces", "toDateTime(Timestamp)"),
    "lk_calls": ("traces", "toDateTime(Timestamp)"),
    "lk_errors": ("traces", "toDateTime(Timestamp)"),
    "lk_span_minutes": ("traces", "Minute"),
    "lk_request_hours": ("traces", "Hour"),
    "lk_turn_hours": ("traces", "Hour"),
    "lk_request_latency_hours": ("traces", "Hour"),
    "lk_call_turns": ("traces", "Day"),
    "otel_logs": ("logs", "TimestampTime"),
    "otel_metrics_gauge": ("metrics", "toDateTime(TimeUnix)"),
    "otel_metrics_sum": ("metrics", "toDateTime(TimeUnix)"),
    "otel_metrics_histogram": ("metrics", "toDateTime(TimeUnix)"),
    "otel_metrics_exponential_histogram": ("metrics", "toDateTime(TimeUnix)"),
    "otel_metrics_summary": ("metrics", "toDateTime(TimeUnix)"),
    "lk_call_usage_metrics": ("usage", "toDateTime(LastSeen)"),
    "lk_usage_posted": ("usage", "toDateTime(StartedAt)"),
}
_TTL = re.compile(r"\bTTL\b.*?toIntervalDay\((\d+)\)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Retention:
    """Days to keep each signal; 0 keeps it forever."""

    traces: int = 30
    logs: int = 30
    metrics: int = 90
    usage: int = 90


def _current_days(engine: Engine, table: str) -> int:
    rows = engine.query(
        "SELECT create_table_query AS q FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        {"t": table},
    )
    if not rows:
        return -1
    match = _TTL.search(rows[0]["q"])
    return int(match.group(1)) if match else 0


def apply_retention(engine: Engine, retention: Retention) -> list[str]:
    """Set each table's TTL to its signal's retention; returns the tables changed."""
    changed = []
    for table, (signal, column) in TABLES.items():
        days = int(getattr(retention, signal))
        if days < 0:
            raise ValueError(f"retention for {signal} must be 0 (forever) or more days, got {days}")
        current = _current_days(engine, table)
        if current == -1 or current == days:
            continue
        if days == 0:
            engine.command(f"ALTER TABLE `{table}` REMOVE TTL")
        else:
            # DDL cannot take bound parameters; both parts are our own constants and an int
            engine.command(f"ALTER TABLE `{table}` MODIFY TTL {column} + toIntervalDay({days})")
        changed.append(table)
    return changed
