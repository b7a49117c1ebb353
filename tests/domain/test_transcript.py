"""The chat history read from its two encodings (the upload's ChatContext.to_dict() JSON and the `chat
item` log records' protobuf JSON), each item once, and placed in the call's span turns."""

from __future__ import annotations

import json
from typing import Any

from livekit_dashboard.domain.transcript import merge_chat_history, read_chat_items

T0 = 1_796_163_274.0  # unix seconds


def iso(at: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat().replace("+00:00", "Z")


def upload(*items: dict[str, Any]) -> dict[str, str]:
    return {"source": "upload", "item": json.dumps({"items": list(items)})}


def as_log(item: dict[str, Any]) -> dict[str, str]:
    """The same item as the framework's `chat item` log record carries it (protobuf JSON)."""
    body = {k: v for k, v in item.items() if k != "type"}
    body["created_at"] = iso(item["created_at"])
    if item["type"] == "message":
        body["role"] = item["role"].upper()
        body["content"] = [{"text": c} for c in item["content"]]
        body["metrics"] = {k: iso(v) if k.endswith("_at") else v for k, v in item.get("metrics", {}).items()}
    return {"source": "log", "item": json.dumps({item["type"]: body})}


def message(item_id: str, role: str, text: str, at: float, **metrics: float) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": role, "content": [text], "created_at": at, "metrics": metrics}


USER_1 = message("i1", "user", "Hello there", T0 + 1.0, stopped_speaking_at=T0 + 0.9, end_of_turn_delay=0.5)
AGENT_1 = message("i2", "assistant", "Hi! ", T0 + 1.3, started_speaking_at=T0 + 1.6, e2e_latency=0.7)
CALL = {
    "id": "i3",
    "type": "function_call",
    "name": "get_weather",
    "call_id": "c1",
    "arguments": "{}",
    "created_at": T0 + 3.2,
}
RESULT = {
    "id": "i4",
    "type": "function_call_output",
    "name": "get_weather",
    "call_id": "c1",
    "output": "sunny",
    "is_error": False,
    "created_at": T0 + 3.3,
}
USER_2 = message("i5", "user", "Weather?", T0 + 3.0, stopped_speaking_at=T0 + 2.9)
AGENT_2 = message("i6", "assistant", "It is sunny.", T0 + 3.5, started_speaking_at=T0 + 3.8, e2e_latency=0.9)
HISTORY = [USER_1, AGENT_1, USER_2, CALL, RESULT, AGENT_2]


def test_both_encodings_read_alike_and_each_item_is_kept_once() -> None:
    from_upload = read_chat_items([upload(*HISTORY)])
    from_logs = read_chat_items([as_log(i) for i in HISTORY])
    both = read_chat_items([*(as_log(i) for i in HISTORY), upload(*HISTORY)])
    assert [i["id"] for i in from_upload] == ["i1", "i2", "i5", "i3", "i4", "i6"]
    assert from_logs == from_upload
    assert both == from_upload
    assert from_upload[0]["text"] == "Hello there"
    assert from_upload[0]["stopped_speaking_at"] == T0 + 0.9


def test_what_is_not_a_chat_item_is_skipped() -> None:
    rows = [
        {"source": "log", "item": "not json"},
        {"source": "log", "item": json.dumps({"message": {"role": "USER"}})},  # no id
        {"source": "upload", "item": json.dumps({"items": "nope"})},
        {"source": "log", "item": json.dumps({"unknown_kind": {"id": "x"}})},
        upload(USER_1),
    ]
    assert [i["id"] for i in read_chat_items(rows)] == ["i1"]


def span_turn(index: int, agent_start: float, **extra: Any) -> dict[str, Any]:
    return {
        "index": index,
        "span_id": f"s{index}",
        "start_s": agent_start - 1,
        "agent_start_s": agent_start,
        "end_s": agent_start + 1,
        "user_text": "",
        "agent_text": "",
        "tools": [],
        **extra,
    }


def test_chat_items_go_to_the_span_turn_they_belong_to() -> None:
    # replies start 1.2 s and 3.4 s after the call's first span (at T0)
    turns = [span_turn(1, 1.2), span_turn(2, 3.4)]
    call = {
        "origin_unix_nano": int(T0 * 1e9),
        "turns": turns,
        "content_captured": False,
    }
    merged = merge_chat_history(call, read_chat_items([upload(*HISTORY)]))
    assert merged["transcript_source"] == "spans+chat_history"
    assert merged["content_captured"] is True
    first, second = merged["turns"]
    assert (first["user_text"], first["agent_text"]) == ("Hello there", "Hi!")
    assert (second["user_text"], second["agent_text"]) == ("Weather?", "It is sunny.")
    assert [(t["name"], t["output"]) for t in second["tools"]] == [("get_weather", "sunny")]
    assert first["tools"] == []
    # the input is not changed
    assert turns[0]["user_text"] == ""


def test_without_spans_each_caller_message_opens_a_turn() -> None:
    late = message("i7", "user", "Bye", T0 + 6.0, stopped_speaking_at=T0 + 5.9)
    call = {"origin_unix_nano": 0, "turns": [], "content_captured": False}
    merged = merge_chat_history(call, read_chat_items([upload(*HISTORY, late)]))
    assert merged["transcript_source"] == "chat_history"
    said = [(t["user_text"], t["agent_text"]) for t in merged["turns"]]
    assert said == [("Hello there", "Hi!"), ("Weather?", "It is sunny."), ("Bye", "")]
    assert [t["response_s"] for t in merged["turns"]] == [0.7, 0.9, None]
    assert merged["turns"][0]["stages"]["end_of_turn"] == 0.5
    assert merged["origin_unix_nano"] == int((T0 + 0.9) * 1e9)


def test_no_chat_history_leaves_the_span_turns() -> None:
    call = {"origin_unix_nano": int(T0 * 1e9), "turns": [span_turn(1, 1.2, user_text="hi")], "content_captured": True}
    merged = merge_chat_history(call, [])
    assert merged["turns"] == call["turns"]
    assert merged["transcript_source"] == "spans"
