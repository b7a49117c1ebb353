"""A call's chat history (what livekit-agents recorded as said, called and handed off) read from its two
encodings, and merged with the call's span turns into one transcript.

livekit-agents sends the chat history twice when a session records its transcript (Cloud mode,
LIVEKIT_OBSERVABILITY_URL): as `chat item` log records (attribute `chat.item`: one ChatContext item as
protobuf JSON, keyed by its kind: {"message": {...}}, roles in capitals, times as RFC 3339 strings) and
as the session upload's `chat_history` part (ChatContext.to_dict(): {"type": "message", ...}, times as
unix seconds). Each item has an id; an item read from both is kept once.

Merging: the span turns (domain/calls.py) stay the unit (their latency stages, timeline and errors); each
chat item is placed in the turn it belongs to by time — a caller's message in the first reply that
starts after the caller stopped speaking, the agent's message, tool calls and results in the last reply
that started before them — and the turn's texts become the chat history's (what the framework recorded
as said, cut where the caller interrupted). A call with no spans (traces not recorded) gets its turns
from the chat history alone: a turn per caller message with the agent's reply, with the latencies the
framework measured (`metrics` of the messages).

Pure: item JSON strings in, dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from livekit_dashboard.domain.timerange import parse_iso8601_ns

__all__ = ["merge_chat_history", "read_chat_items"]

_KINDS = ("message", "function_call", "function_call_output", "agent_handoff", "agent_config_update")
# an item up to this much before a reply's start still belongs to it (clocks of one process, rounding)
_SLACK_S = 0.25


def _unix_s(value: Any) -> float | None:
    """Unix seconds from a float (ChatContext.to_dict) or an RFC 3339 string (protobuf JSON)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if value > 0 else None
    if isinstance(value, str) and value:
        try:
            return parse_iso8601_ns(value) / 1e9
        except ValueError:
            return None
    return None


def _text(content: Any) -> str:
    """The text of a message's content list: strings (to_dict) or {"text": ...} parts (protobuf JSON)."""
    parts = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "".join(parts).strip()


def _number(metrics: Mapping[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _item(kind: str, raw: Mapping[str, Any]) -> dict[str, Any] | None:
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id or kind not in _KINDS:
        return None
    found = raw.get("metrics")
    metrics: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    out: dict[str, Any] = {"id": item_id, "type": kind, "at": _unix_s(raw.get("created_at"))}
    if kind == "message":
        out.update(
            role=str(raw.get("role", "")).lower(),
            text=_text(raw.get("content")),
            interrupted=bool(raw.get("interrupted")),
            started_speaking_at=_unix_s(metrics.get("started_speaking_at")),
            stopped_speaking_at=_unix_s(metrics.get("stopped_speaking_at")),
            metrics={
                k: _number(metrics, k)
                for k in (
                    "transcription_delay",
                    "end_of_turn_delay",
                    "on_user_turn_completed_delay",
                    "llm_node_ttft",
                    "tts_node_ttfb",
                    "e2e_latency",
                )
                if _number(metrics, k) is not None
            },
        )
    elif kind in ("function_call", "function_call_output"):
        out.update(
            name=str(raw.get("name", "")),
            call_id=str(raw.get("call_id", "")),
            arguments=str(raw.get("arguments", "")),
            output=str(raw.get("output", "")),
            is_error=bool(raw.get("is_error")),
        )
    elif kind == "agent_handoff":
        out.update(old_agent=str(raw.get("old_agent_id", "")), new_agent=str(raw.get("new_agent_id", "")))
    return out


def _items_of(source: str, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if source == "upload":  # ChatContext.to_dict(): {"items": [{"type": ..., ...}]}
        raws = data.get("items") if isinstance(data, Mapping) else None
        pairs = [(r.get("type", ""), r) for r in raws or [] if isinstance(r, Mapping)]
    else:  # one protobuf JSON item: {"message": {...}}
        pairs = [(k, v) for k, v in data.items() if isinstance(v, Mapping)] if isinstance(data, Mapping) else []
    return [item for kind, raw in pairs if (item := _item(str(kind), raw)) is not None]


def read_chat_items(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The call's chat items, each once (by id), in the order they were created. `rows` have `source`
    ("log": one chat.item attribute; "upload": a whole chat history) and `item` (its JSON)."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        for item in _items_of(str(row.get("source", "")), str(row.get("item", ""))):
            by_id.setdefault(item["id"], item)
    return sorted(by_id.values(), key=lambda i: (i["at"] is None, i["at"] or 0.0))


def _when(item: Mapping[str, Any]) -> float | None:
    """The moment that places an item: a caller's end of speech, the agent's start of speech, else its
    creation."""
    at: float | None = item["at"]
    if item["type"] == "message":
        speech: float | None = item["stopped_speaking_at" if item["role"] == "user" else "started_speaking_at"]
        return speech or at
    return at


def _tool_of(call: Mapping[str, Any], result: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "span_id": "",
        "name": call["name"],
        "arguments": call["arguments"],
        "output": result["output"] if result else "",
        "is_error": bool(result and result["is_error"]),
        "duration_s": None,
        "source": "chat_history",
    }


def _tools(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = {i["call_id"]: i for i in items if i["type"] == "function_call_output"}
    return [_tool_of(i, results.get(i["call_id"])) for i in items if i["type"] == "function_call"]


def _joined(items: list[dict[str, Any]], role: str) -> str:
    return " ".join(i["text"] for i in items if i["type"] == "message" and i["role"] == role and i["text"])


def _chat_turn(index: int, items: list[dict[str, Any]], origin_s: float) -> dict[str, Any]:
    """A turn from chat items alone (the call has no spans): the latencies the framework measured."""
    user = next((i for i in items if i["type"] == "message" and i["role"] == "user"), None)
    agent = next((i for i in reversed(items) if i["type"] == "message" and i["role"] == "assistant"), None)
    um = user["metrics"] if user else {}
    am = agent["metrics"] if agent else {}
    times = [t for t in (_when(i) for i in items) if t is not None]
    start = min(times) if times else origin_s
    agent_start = _when(agent) if agent else None
    stages = {
        "end_of_turn": um.get("end_of_turn_delay"),
        "transcription": um.get("transcription_delay"),
        "on_user_turn_completed": um.get("on_user_turn_completed_delay"),
        "llm_ttft": am.get("llm_node_ttft"),
        "tts_ttfb": am.get("tts_node_ttfb"),
    }
    valid = {k: v for k, v in stages.items() if v is not None and 0 <= v <= 30}
    response = am.get("e2e_latency")
    end = (agent.get("stopped_speaking_at") if agent else None) or (max(times) if times else start)
    return {
        "index": index,
        "span_id": "",
        "user_turn_span_id": "",
        "start_s": round(start - origin_s, 6),
        "agent_start_s": round((agent_start or start) - origin_s, 6),
        "end_s": round(end - origin_s, 6),
        "agent": "",
        "user_text": _joined(items, "user"),
        "agent_text": _joined(items, "assistant"),
        "transcript_confidence": None,
        "response_s": response,
        "response_flag": "" if response is None or 0 <= response <= 30 else ("negative" if response < 0 else "absurd"),
        "stages": stages,
        "flags": {
            k: ("negative" if v < 0 else "absurd") for k, v in stages.items() if v is not None and k not in valid
        },
        "dominant_stage": max(valid, key=lambda k: valid[k]) if valid else "",
        "queue_wait_s": None,
        "spoke": bool(agent and agent.get("started_speaking_at")),
        "interrupted": bool(agent and agent["interrupted"]),
        "interruption_source": "",
        "playout_position_s": None,
        "audio_s": None,
        "heard_share": None,
        "tools": _tools(items),
        "errors": [],
        "handoffs": [i["new_agent"] for i in items if i["type"] == "agent_handoff"],
        "transcript_source": "chat_history",
    }


def _chat_only(call: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    times = [t for t in (_when(i) for i in items) if t is not None]
    origin_s = min(times) if times else 0.0
    # a turn per caller message (as the framework counts user turns), the agent's reply in it; an agent
    # message with no caller message before it in the turn (a greeting, a second reply) is a turn too
    groups: list[list[dict[str, Any]]] = [[]]
    for item in items:
        if item["type"] == "message" and any(i["type"] == "message" for i in groups[-1]):
            spoke = {i["role"] for i in groups[-1] if i["type"] == "message"}
            if item["role"] == "user" or "assistant" in spoke:
                groups.append([])
        groups[-1].append(item)
    groups = [g for g in groups if any(i["type"] == "message" for i in g)]
    turns = [_chat_turn(n, group, origin_s) for n, group in enumerate(groups, start=1)]
    return {
        **call,
        "origin_unix_nano": int(origin_s * 1e9),
        "duration_s": max((t["end_s"] for t in turns), default=0.0),
        "turns": turns,
        "content_captured": True,
        "transcript_source": "chat_history",
    }


def merge_chat_history(call: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """`call` (domain/calls.assemble_call's output) with the chat items placed in its turns: one
    transcript, the chat history's texts (and its tool calls where no span shows them), or turns from
    the chat history alone when the call has no spans. `transcript_source` says which."""
    if not items:
        return {**call, "transcript_source": "spans" if call["turns"] else ""}
    if not call["turns"]:
        return _chat_only(call, items)
    origin_s = call["origin_unix_nano"] / 1e9
    turns = [dict(t) for t in call["turns"]]
    starts = [origin_s + t["agent_start_s"] for t in turns]
    placed: list[list[dict[str, Any]]] = [[] for _ in turns]
    for item in items:
        at = _when(item)
        if at is None:
            continue
        if item["type"] == "message" and item["role"] == "user":
            # the first reply that starts after the caller stopped (else the last one)
            n = next((k for k, s in enumerate(starts) if s >= at - _SLACK_S), len(turns) - 1)
        else:
            # the last reply that started before it (else the first one)
            n = max((k for k, s in enumerate(starts) if s <= at + _SLACK_S), default=0)
        placed[n].append(item)
    for turn, mine in zip(turns, placed, strict=True):
        handoffs = [i["new_agent"] for i in mine if i["type"] == "agent_handoff"]
        turn["handoffs"] = handoffs
        if not any(i["type"] in ("message", "function_call") for i in mine):
            turn["transcript_source"] = "spans"
            continue
        turn["transcript_source"] = "chat_history"
        user, agent = _joined(mine, "user"), _joined(mine, "assistant")
        if user:
            turn["user_text"] = user
        if agent:
            turn["agent_text"] = agent
        if not turn["tools"]:
            turn["tools"] = _tools(mine)
    return {**call, "turns": turns, "content_captured": True, "transcript_source": "spans+chat_history"}
