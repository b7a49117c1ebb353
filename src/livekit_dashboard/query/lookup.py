"""Lookups: one trace with all its spans, log lists, one log entry."""

from __future__ import annotations

from typing import Any

from livekit_dashboard.domain.ids import LogId
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["count_spans", "get_log", "get_trace", "has_spans", "list_logs", "trace_window"]


def trace_window(engine: Engine, trace_id: str) -> dict[str, Any]:
    """The parameters that bound a read of one trace's spans and logs to its time span
    (trace_span_window, trace_log_window): trace_id, trace_start_s, trace_end_s (both 0 without spans)."""
    window = engine.query(load_sql("trace_window"), {"trace_id": trace_id})[0]
    return {"trace_id": trace_id, "trace_start_s": window["start_s"], "trace_end_s": window["end_s"]}


def has_spans(window: dict[str, Any]) -> bool:
    """Whether trace_window found the trace in the lookup table. Every span stored fills it (a
    materialized view of otel_traces; its weekly parts expire whole with the traces' retention, by the
    trace's first start), so a trace it does not know has no spans, short of the tail of a trace that
    outlived its week at the retention edge: reading otel_traces anyway is a scan of every part (65 ms
    at 10M spans)."""
    return bool(window["trace_start_s"] or window["trace_end_s"])


def get_trace(engine: Engine, trace_id: str) -> dict[str, Any] | None:
    """All spans of a trace (normalised id), or None when no span of it is stored."""
    window = trace_window(engine, trace_id)
    rows = engine.query(load_sql("trace_spans"), window) if has_spans(window) else []
    if not rows:
        return None
    return {"trace_id": trace_id, "spans": [_span(row) for row in rows]}


def _span(row: dict[str, Any]) -> dict[str, Any]:
    events = [
        {"time_unix_nano": t, "name": n, "attributes": a}
        for t, n, a in zip(row.pop("event_times"), row.pop("event_names"), row.pop("event_attributes"), strict=True)
    ]
    links = [
        {"trace_id": t, "span_id": s, "trace_state": st, "attributes": a}
        for t, s, st, a in zip(
            row.pop("link_trace_ids"),
            row.pop("link_span_ids"),
            row.pop("link_trace_states"),
            row.pop("link_attributes"),
            strict=True,
        )
    ]
    row["end_time_unix_nano"] = row["start_time_unix_nano"] + row["duration_ns"]
    row["events"] = events
    row["links"] = links
    return row


def list_logs(engine: Engine, *, trace_id: str = "", span_id: str = "", limit: int = 100) -> list[dict[str, Any]]:
    """Newest first; empty filters match everything."""
    return engine.query(load_sql("log_list"), {"trace_id": trace_id, "span_id": span_id, "limit": limit})


def get_log(engine: Engine, log_id: LogId) -> dict[str, Any] | None:
    rows = engine.query(
        load_sql("log_entry"), {"timestamp_ns": log_id.timestamp_ns, "content_hash": log_id.content_hash}
    )
    if not rows:
        return None
    row = rows[0]
    row.pop("content_hash", None)
    return row


def count_spans(engine: Engine) -> int:
    """How many spans are stored (the demo fills only an empty store)."""
    return int(engine.query("SELECT count() AS n FROM otel_traces")[0]["n"])
