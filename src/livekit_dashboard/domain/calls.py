"""A call, turn by turn, from its trace's spans: what was said, how long the caller waited and where that
time went, which tools ran, what failed, where the caller cut the agent off.

Pure: spans in (the trace view's span dicts), a call out. The framework's span tree (livekit-agents):
`agent_session` is the root; each `user_turn` (children `user_speaking`, `eou_wait`,
`on_user_turn_completed`) and each agent reply (`agent_turn`; children `llm_node`, `function_tool`,
`tts_node`, `agent_speaking`) are its children, siblings of each other — a reply can start before its
user turn ends, so a reply is paired with the user turn that started last before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LATENCY_LIMIT_S",
    "STAGES",
    "assemble_call",
    "latency_flag",
    "recovered_attempt",
]

# a latency above this is a framework clock bug (livekit/agents#3591), not a wait: flagged, never averaged
LATENCY_LIMIT_S = 30.0

# the stages of a response latency, in the order they happen; they overlap (transcription runs during the
# end-of-turn wait), so they do not add up to the response latency
STAGES: tuple[tuple[str, str], ...] = (
    ("end_of_turn", "end-of-turn delay"),
    ("transcription", "transcription delay"),
    ("on_user_turn_completed", "on_user_turn_completed"),
    ("llm_ttft", "LLM time to first token"),
    ("tts_ttfb", "TTS time to first byte"),
)

_AGENT_TURNS = ("agent_turn", "assistant_turn", "realtime_assistant_turn")
_LANE_OF = {
    "user_speaking": "user",
    "eou_wait": "turn detection",
    "llm_node": "LLM",
    "realtime_response": "LLM",
    "function_tool": "tools",
    "tts_node": "TTS",
    "agent_speaking": "agent",
}
LANES = ("user", "turn detection", "STT", "LLM", "tools", "TTS", "agent")


def latency_flag(value: float | None) -> str:
    """Why a latency is unfit for a percentile ("" when it is fit): the rule docs/panels.md states."""
    if value is None:
        return "missing"
    if value < 0:
        return "negative"
    if value > LATENCY_LIMIT_S:
        return "absurd"
    return ""


def _float(attrs: Mapping[str, str], *keys: str) -> float | None:
    for key in keys:
        text = attrs.get(key, "")
        if text:
            try:
                return float(text)
            except ValueError:
                return None
    return None


def _text(attrs: Mapping[str, str], *keys: str) -> str:
    for key in keys:
        if attrs.get(key):
            return attrs[key]
    return ""


@dataclass(frozen=True, slots=True)
class _Span:
    span_id: str
    parent: str
    name: str
    start: int
    end: int
    attrs: Mapping[str, str]
    error: str  # status message ("" when ok); "error" when failed without a message

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> _Span:
        start = int(row["start_time_unix_nano"])
        failed = row.get("status_code") == "Error"
        return cls(
            span_id=row["span_id"],
            parent=row.get("parent_span_id", ""),
            name=row["name"],
            start=start,
            end=start + int(row.get("duration_ns", 0)),
            attrs=row.get("attributes") or {},
            error=(row.get("status_message") or "error") if failed else "",
        )


def _seconds(ns: int, origin: int) -> float:
    return round((ns - origin) / 1e9, 6)


def _tool(span: _Span) -> dict[str, Any]:
    a = span.attrs
    return {
        "span_id": span.span_id,
        "name": a.get("lk.function_tool.name", ""),
        "arguments": _text(a, "lk.pii.function_tool.arguments", "lk.function_tool.arguments"),
        "output": _text(a, "lk.pii.function_tool.output", "lk.function_tool.output"),
        "is_error": span.error != "" or a.get("lk.function_tool.is_error", "").lower() == "true",
        "duration_s": round((span.end - span.start) / 1e9, 6),
    }


def _tts_seconds(spans: Iterable[_Span]) -> float | None:
    """Seconds of audio the turn's TTS produced (its requests' lk.tts_metrics audio_duration)."""
    total, seen = 0.0, False
    for span in spans:
        raw = span.attrs.get("lk.tts_metrics", "")
        if span.name != "tts_request" or not raw:
            continue
        try:
            value = json.loads(raw).get("audio_duration")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, int | float):
            total, seen = total + float(value), True
    return total if seen else None


class _Tree:
    def __init__(self, spans: list[_Span]) -> None:
        self.by_id = {s.span_id: s for s in spans}
        self.children: dict[str, list[_Span]] = {}
        for s in spans:
            self.children.setdefault(s.parent, []).append(s)
        for kids in self.children.values():
            kids.sort(key=lambda s: s.start)

    def descendants(self, span: _Span) -> list[_Span]:
        out, stack = [], list(self.children.get(span.span_id, ()))
        while stack:
            s = stack.pop()
            out.append(s)
            stack.extend(self.children.get(s.span_id, ()))
        out.sort(key=lambda s: s.start)
        return out


def _segment(span: _Span, origin: int, lane: str, label: str, turn: int, mark_s: float | None = None) -> dict[str, Any]:
    return {
        "lane": lane,
        "label": label,
        "turn": turn,
        "span_id": span.span_id,
        "start_s": _seconds(span.start, origin),
        "end_s": _seconds(span.end, origin),
        "mark_s": None if mark_s is None else round(_seconds(span.start, origin) + mark_s, 6),
        "error": span.error,
    }


def recovered_attempt(name: str, parent: str, span_ids: set[str], failed: set[str]) -> bool:
    """A failed attempt (llm_request_run, tts_request_run) whose request, stored with it, did not fail: a
    retry recovered it (the error panels' "recovered"); not a failure of the call."""
    return name.endswith("_run") and parent in span_ids and parent not in failed


def _stages(reply: _Span, user: _Span | None, nodes: list[_Span]) -> dict[str, float | None]:
    a = reply.attrs
    u = user.attrs if user else {}
    llm = next((n for n in nodes if n.name == "llm_node"), None)
    tts = next((n for n in nodes if n.name == "tts_node"), None)
    return {
        "end_of_turn": _float(a, "lk.end_of_turn_delay", "lk.end_of_utterance_delay")
        if a.get("lk.end_of_turn_delay") or a.get("lk.end_of_utterance_delay")
        else _float(u, "lk.end_of_turn_delay"),
        "transcription": _float(a, "lk.transcription_delay")
        if a.get("lk.transcription_delay")
        else _float(u, "lk.transcription_delay"),
        "on_user_turn_completed": _float(a, "lk.on_user_turn_completed_delay"),
        "llm_ttft": _float(llm.attrs, "lk.response.ttft") if llm else None,
        "tts_ttfb": _float(tts.attrs, "lk.response.ttfb") if tts else None,
        "tool_round": _tool_round(reply, nodes),
    }


def _tool_round(reply: _Span, nodes: list[_Span]) -> float | None:
    """A reply that called tools ran the LLM again after them: seconds from its first LLM step's start to
    its last's (the first step whole, the tools, the wait); None for one LLM step."""
    starts = sorted(n.start for n in nodes if n.name == "llm_node" and n.parent == reply.span_id)
    return (starts[-1] - starts[0]) / 1e9 if len(starts) > 1 else None


def _turn(index: int, reply: _Span, user: _Span | None, tree: _Tree, origin: int) -> dict[str, Any]:
    a = reply.attrs
    nodes = tree.descendants(reply)
    spoke = any(n.name == "agent_speaking" for n in nodes)
    response = _float(a, "lk.e2e_latency")
    stages = _stages(reply, user, nodes)
    # a stage is flagged only when it has a value that cannot be right (a stage may simply not have run)
    # (a tool round is not a framework measurement: never flagged, though one over 30 s is no stage)
    flags = {
        name: latency_flag(v)
        for name, v in stages.items()
        if v is not None and latency_flag(v) and name != "tool_round"
    }
    response_flag = latency_flag(response) if (response is not None or spoke) else ""
    if response is None and spoke and user is None:
        response_flag = ""  # the agent spoke first (a greeting): nobody waited
    valid = {k: v for k, v in stages.items() if v is not None and not latency_flag(v)}
    dominant = max(valid, key=lambda k: valid[k]) if valid else ""
    # a failure travels up its spans (tts_request_run -> tts_node): named once, where it surfaced last
    failed = {n.span_id for n in [reply, *nodes] if n.error}
    ids = {n.span_id for n in nodes}
    errors = [
        {
            "span_id": n.span_id,
            "name": n.name,
            "message": n.error,
            "recovered": recovered_attempt(n.name, n.parent, ids, failed),
        }
        for n in [reply, *nodes]
        if n.error and n.parent not in failed
    ]
    agent_text = _text(a, "lk.pii.response.text", "lk.response.text")
    if not agent_text:
        agent_text = "".join(n.attrs.get("lk.pii.response.text", "") for n in nodes if n.name == "llm_node")
    user_text = _text(a, "lk.pii.user_input", "lk.user_input")
    if not user_text and user is not None:
        user_text = _text(user.attrs, "lk.pii.user_transcript", "lk.user_transcript")
    interrupted = a.get("lk.interrupted", "").lower() == "true"
    playout = _float(a, "lk.playout.position")
    audio_s = _tts_seconds(nodes)
    heard = None
    if interrupted and playout is not None and audio_s:
        heard = round(min(1.0, max(0.0, playout / audio_s)), 4)
    return {
        "index": index,
        "span_id": reply.span_id,
        "user_turn_span_id": user.span_id if user else "",
        "start_s": _seconds(min(reply.start, user.start) if user else reply.start, origin),
        "agent_start_s": _seconds(reply.start, origin),
        "end_s": _seconds(reply.end, origin),
        "agent": _text(a, "gen_ai.agent.name", "lk.agent_label"),
        "user_text": user_text,
        "agent_text": agent_text,
        "transcript_confidence": _float(user.attrs, "lk.transcript_confidence") if user else None,
        "response_s": response,
        "response_flag": response_flag,
        "stages": stages,
        "flags": flags,
        "dominant_stage": dominant,
        "queue_wait_s": _float(a, "lk.speech.queue_wait"),
        "spoke": spoke,
        "interrupted": interrupted,
        "interruption_source": a.get("lk.interruption.source", ""),
        "playout_position_s": playout,
        "audio_s": audio_s,
        "heard_share": heard,
        "tools": [_tool(n) for n in nodes if n.name == "function_tool"],
        "errors": errors,
    }


def _timeline(turns: list[tuple[_Span, _Span | None]], tree: _Tree, origin: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    done_users: set[str] = set()
    for index, (reply, user) in enumerate(turns, start=1):
        if user is not None and user.span_id not in done_users:
            done_users.add(user.span_id)
            for kid in tree.children.get(user.span_id, ()):
                if kid.name in ("user_speaking", "eou_wait"):
                    out.append(_segment(kid, origin, _LANE_OF[kid.name], kid.name.replace("_", " "), index))
                if kid.name == "user_speaking":
                    delay = _float(user.attrs, "lk.transcription_delay")
                    if delay is not None and latency_flag(delay) == "":
                        stt = _Span(kid.span_id, "", "stt", kid.end, kid.end + int(delay * 1e9), {}, "")
                        out.append(_segment(stt, origin, "STT", "transcription", index))
        for node in tree.descendants(reply):
            lane = _LANE_OF.get(node.name)
            if lane is None or (node.name == "realtime_response" and node.parent != reply.span_id):
                continue
            mark = None
            label = node.name.replace("_", " ")
            if node.name == "llm_node":
                mark, label = _float(node.attrs, "lk.response.ttft"), "LLM"
            elif node.name == "tts_node":
                mark, label = _float(node.attrs, "lk.response.ttfb"), "TTS"
            elif node.name == "function_tool":
                label = f"tool {node.attrs.get('lk.function_tool.name', '')}".strip()
            out.append(_segment(node, origin, lane, label, index, mark))
    return out


def assemble_call(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Turns (each with its stages, flags, tools, errors and interruption), the timeline's segments (on
    one axis, seconds from the call's first span) and whether content capture was on."""
    spans = [_Span.of(r) for r in rows]
    if not spans:
        return {
            "origin_unix_nano": 0,
            "duration_s": 0.0,
            "turns": [],
            "timeline": [],
            "lanes": list(LANES),
            "content_captured": False,
        }
    tree = _Tree(spans)
    origin = min(s.start for s in spans)
    users = sorted((s for s in spans if s.name == "user_turn"), key=lambda s: s.start)
    replies = sorted((s for s in spans if s.name in _AGENT_TURNS), key=lambda s: s.start)
    pairs: list[tuple[_Span, _Span | None]] = []
    used: set[str] = set()
    for reply in replies:
        before = [u for u in users if u.start <= reply.start and u.span_id not in used]
        user = before[-1] if before else None
        if user is not None:
            used.add(user.span_id)
        pairs.append((reply, user))
    turns = [_turn(i, reply, user, tree, origin) for i, (reply, user) in enumerate(pairs, start=1)]
    captured = any(key.startswith("lk.pii.") for s in spans for key in s.attrs)
    return {
        "origin_unix_nano": origin,
        "duration_s": _seconds(max(s.end for s in spans), origin),
        "turns": turns,
        "timeline": _timeline(pairs, tree, origin),
        "lanes": list(LANES),
        "content_captured": captured,
    }
