"""Calls: the call explorer (list, filters, search) and one call's page (record, turns, timeline, logs)."""

from __future__ import annotations

import csv
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from livekit_dashboard.domain.calls import assemble_call, recovered_attempt
from livekit_dashboard.domain.prices import COMPONENTS
from livekit_dashboard.domain.timerange import format_ch_time
from livekit_dashboard.domain.transcript import merge_chat_history, read_chat_items
from livekit_dashboard.query.lookup import has_spans, trace_window
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.store import Engine

__all__ = ["CALL_LIST_SORTS", "CallSearch", "call_recording", "calls_csv", "get_call", "search_calls"]

# the numeric columns the call list sorts by (started_at: newest first by default)
CALL_LIST_SORTS = (
    "started_at",
    "call_duration_s",
    "turns",
    "failures",
    "errors",
    "tool_errors",
    "total_llm_tokens",
    "tts_characters",
    "stt_audio_duration",
    "response_p50_s",
    "response_max_s",
    "flagged_latencies",
    "interruptions",
    "cost_usd",
)


@dataclass(frozen=True, slots=True)
class CallSearch:
    """What the call list asks for: calls that started in [start, end), narrowed by the filters."""

    start_ns: int
    end_ns: int
    services: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()  # SDK languages (telemetry.sdk.language)
    agent: str = ""
    user: str = ""
    has_errors: bool = False
    min_response_s: float = 0.0
    models: tuple[str, ...] = ()
    outcome: str = ""  # success, fail, none (no outcome tagged), or '' (any)
    simulated: str = "exclude"  # production calls (exclude), a simulation's (only), or both (include)
    q: str = ""
    # calls active in the range (started before its end, ended at or after its start) rather than
    # started in it: what a chart bucket's events belong to
    active: bool = False
    sort: str = "started_at"
    descending: bool = True
    limit: int = 50
    offset: int = 0

    def values(self, *, words: bool = False) -> dict[str, Any]:
        return {
            "start": format_ch_time(self.start_ns),
            "end": format_ch_time(self.end_ns),
            "services": list(self.services),
            "languages": list(self.languages),
            "agent": self.agent,
            "user": self.user,
            "has_errors": int(self.has_errors),
            "min_response_s": self.min_response_s,
            "models": list(self.models),
            "outcome": self.outcome,
            "simulated": self.simulated,
            "q": self.q.strip(),
            "q_words": int(words),
            "active": int(self.active),
            "sort": self.sort,
            "descending": int(self.descending),
            "limit": self.limit,
            "offset": self.offset,
        }


_LINE_COLUMNS = ("line_keys", "line_purpose", "line_usage", "line_cost_usd", "line_priced", "line_source")


def _call_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its ISO times in place (after who, before the numbers) and its cost itemised:
    `cost_breakdown` per usage component, `cost_lines` per model and purpose."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "started_at_iso":
            out["started_at"] = value
        elif key == "ended_at_iso":
            out["ended_at"] = value
        elif key == "cost_items":
            out["cost_breakdown"] = dict(zip(COMPONENTS, value or [0.0] * len(COMPONENTS), strict=True))
        elif key != "total" and key not in _LINE_COLUMNS:
            out[key] = value
    if "line_keys" in row:
        out["cost_lines"] = cost_lines(row)
    return out


def cost_lines(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A settled call's lines: per model and purpose, its usage (non-zero components) and what its
    priced usage cost; `priced` is false where some of its usage has no price."""
    lines = []
    columns = zip(*(row[c] for c in _LINE_COLUMNS), strict=True)
    for key, purpose, usage, cost, priced, source in columns:
        stage, _, rest = key.partition("|")
        provider, _, model = rest.partition("|")
        lines.append(
            {
                "stage": stage,
                "provider": provider,
                "model": model,
                "purpose": purpose,
                "usage": {c: q for c, q in zip(COMPONENTS, usage, strict=True) if q},
                "cost_usd": cost,
                "priced": bool(priced),
                "price_source": source,
            }
        )
    return lines


def search_calls(engine: Engine, search: CallSearch) -> tuple[int, list[dict[str, Any]]]:
    """(how many calls match, this page of them). A search is first an id (call, trace, room, user:
    at any time), and only when nothing has it, words said (in the range)."""
    page = engine.query(load_sql("call_list"), search.values())
    if search.q.strip() and not page:
        page = engine.query(load_sql("call_list"), search.values(words=True))
    if not page:
        return 0, []
    ids = [row["call_id"] for row in page]
    rows = {row["call_id"]: row for row in engine.query(load_sql("call_rows"), {"ids": ids})}
    return int(page[0]["total"]), [_call_row(rows[i]) for i in ids if i in rows]


_CSV_SKIP = ("models", "unpriced_models")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def calls_csv(rows: list[dict[str, Any]]) -> str:
    """The call list as CSV: one header row, one row per call (models joined with spaces, other lists of
    text with "; ", structured values as JSON)."""
    out = io.StringIO()
    if not rows:
        return ""
    flat = [_csv_row(row) for row in rows]
    writer = csv.DictWriter(out, fieldnames=list(flat[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "cost_lines":
            continue
        if key == "cost_breakdown":
            out.update({f"cost_{c}_usd": v for c, v in value.items()})
        elif key in _CSV_SKIP:
            out[key] = " ".join(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = "; ".join(value)  # tags
        elif isinstance(value, (list, dict)):
            out[key] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # evaluations: JSON, not repr
        else:
            out[key] = "" if value is None else value
    return out


def call_recording(engine: Engine, call_id: str) -> dict[str, Any] | None:
    """A call's recording row (file, content_type, bytes, duration_ms, started_ms), None without one."""
    rows = engine.query(load_sql("call_recording"), {"call_id": call_id})
    return rows[0] if rows else None


def get_call(engine: Engine, call_id: str, *, log_limit: int = 500) -> dict[str, Any] | None:
    """One call by call id or trace id: its settled record (None until settled), its turns and timeline
    from the trace's spans, its error logs and logs. None when neither a record nor a span is found."""
    # by call id (the primary key), else by trace id
    rows = engine.query(load_sql("call_record"), {"call_id": call_id, "trace_id": ""})
    if not rows and _TRACE_ID.fullmatch(call_id.lower()):
        rows = engine.query(load_sql("call_record"), {"call_id": "", "trace_id": call_id.lower()})
    record = _call_row(rows[0]) if rows else None
    trace_id = record["trace_id"] if record else call_id.lower()
    if not _TRACE_ID.fullmatch(trace_id):
        if record is None:
            return None
        trace_id = ""  # a posted record without a trace (a worker that recorded no traces)
    call_id = record["call_id"] if record else trace_id
    # where the trace's spans and logs lie, once; then the spans, the logs and the chat history are
    # independent reads: side by side
    trace = trace_window(engine, trace_id) if trace_id else {"trace_id": "", "trace_start_s": 0, "trace_end_s": 0}
    with ThreadPoolExecutor(max_workers=2) as pool:
        found = pool.submit(engine.query, load_sql("call_spans"), trace) if has_spans(trace) else None
        chat = pool.submit(engine.query, load_sql("call_chat_items"), {**trace, "call_id": call_id})
        logs = engine.query(load_sql("call_logs"), {**trace, "limit": log_limit}) if trace_id else []
        spans = found.result() if found else []
        items = read_chat_items(chat.result())
    if record is None and not spans:
        return None
    call = merge_chat_history(assemble_call(spans), items)
    # a failure travels up its spans (tts_request_run -> tts_request -> tts_node): name it once, where
    # it surfaced last
    failed = {s["span_id"] for s in spans if s["status_code"] == "Error"}
    ids = {s["span_id"] for s in spans}
    errors = [
        {
            "kind": "span",
            "span_id": s["span_id"],
            "name": s["name"],
            "message": s["status_message"] or "error",
            "recovered": recovered_attempt(s["name"], s["parent_span_id"], ids, failed),
        }
        for s in spans
        if s["span_id"] in failed and s["parent_span_id"] not in failed
    ]
    # a tool that returned an error without failing its span (the page's turns read it: domain/calls.py),
    # the error records' tool_error
    errors += [
        {
            "kind": "tool",
            "span_id": t["span_id"],
            "name": t["name"],
            "message": t["output"] or "error",
            "recovered": False,
        }
        for turn in call["turns"]
        for t in turn["tools"]
        if t["is_error"] and t["span_id"] not in failed
    ]
    errors += [
        {"kind": "log", "log_id": g["log_id"], "name": g["severity_text"], "message": g["body"], "recovered": False}
        for g in logs
        if g["severity_number"] >= 17
    ]
    recording = call_recording(engine, call_id)
    audio = None
    if recording is not None:
        # seconds from the call's first span (the timeline's zero) to the audio's start
        origin_ms = call["origin_unix_nano"] / 1e6 if call.get("origin_unix_nano") else recording["started_ms"]
        audio = {
            "url": f"/api/v1/calls/{call_id}/audio",
            "content_type": recording["content_type"],
            "bytes": recording["bytes"],
            "duration_s": recording["duration_ms"] / 1000,
            "offset_s": (recording["started_ms"] - origin_ms) / 1000,
        }
    return {
        "call_id": call_id,
        "trace_id": trace_id,
        "record": record,
        "audio": audio,
        "span_count": len(spans),
        **call,
        "errors": errors,
        "logs": logs,
    }
