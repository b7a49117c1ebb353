"""Usage intake: a per-call usage record posted by the worker, as livekit-agents'
`SessionReport.to_dict()` or as a plain record, validated whole (nothing partial is stored)."""

from __future__ import annotations

import math
import time
from typing import Any

import pyarrow as pa

from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS, parse_iso8601_ns
from livekit_dashboard.store.tables import USAGE_POSTED

__all__ = ["PLAIN_FIELDS", "UsageError", "parse_usage", "usage_table"]

# plain record field -> column; the token and duration names follow the admin API's record fields
_INT_FIELDS = {
    "llm_input_audio_tokens": "InputAudioTokens",
    "llm_input_text_tokens": "InputTextTokens",
    "llm_input_cached_audio_tokens": "CachedAudioTokens",
    "llm_input_cached_text_tokens": "CachedTextTokens",
    "llm_output_audio_tokens": "OutputAudioTokens",
    "llm_output_text_tokens": "OutputTextTokens",
    "llm_cache_write_tokens": "CacheWriteTokens",
    "llm_reasoning_tokens": "ReasoningTokens",
    "tts_characters": "TtsCharacters",
    "turns": "Turns",
    "errors": "Errors",
}
_FLOAT_FIELDS = {"tts_audio_duration": "TtsAudioS", "stt_audio_duration": "SttAudioS"}
_STR_FIELDS = {
    "trace_id": "TraceId",
    "room_name": "RoomName",
    "service": "ServiceName",
    "agent_name": "AgentName",
    "user_email": "UserEmail",
    "assistant_id": "AssistantId",
    "close_reason": "CloseReason",
}
PLAIN_FIELDS = frozenset(
    {"call_id", "started_at", "ended_at", "call_duration", "models", "total_llm_tokens"}
    | set(_INT_FIELDS)
    | set(_FLOAT_FIELDS)
    | set(_STR_FIELDS)
)


class UsageError(ValueError):
    """The body is not a usage record; the message names the field."""


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2**63:
        raise UsageError(f"{field}: expected a non-negative integer, got {value!r}"[:200])
    return value


def _float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise UsageError(f"{field}: expected a non-negative number, got {value!r}"[:200])
    return float(value)


def _str(value: Any, field: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > 1000:
        raise UsageError(f"{field}: expected a {'non-empty ' if required else ''}string, got {value!r}"[:200])
    return value


def _time_ns(value: Any, field: str) -> int:
    """ISO 8601 text or epoch seconds."""
    if isinstance(value, str):
        try:
            return parse_iso8601_ns(value)
        except ValueError as exc:
            raise UsageError(f"{field}: {exc} or epoch seconds") from None
    seconds = _float(value, field)
    if seconds * 1e9 > MAX_TIMESTAMP_NS:
        raise UsageError(f"{field}: out of range")
    return round(seconds * 1e9)


def _blank() -> dict[str, Any]:
    row: dict[str, Any] = {name: 0 for name in USAGE_POSTED.names}
    row.update({col: "" for col in _STR_FIELDS.values()})
    row.update({"Models": [], "TtsAudioS": 0.0, "SttAudioS": 0.0})
    return row


def _from_session_report(body: dict[str, Any]) -> dict[str, Any]:
    row = _blank()
    row["CallId"] = _str(body.get("job_id") or body.get("room_id"), "job_id", required=True)
    row["RoomName"] = _str(body.get("room"), "room")
    row["AgentName"] = _str(body.get("agent_name"), "agent_name")
    for field in ("user_email", "assistant_id", "trace_id", "service"):
        row[_STR_FIELDS[field]] = _str(body.get(field), field)
    ended = _time_ns(body["timestamp"], "timestamp") if "timestamp" in body else time.time_ns()
    duration_ms = _float(body.get("duration_ms", 0), "duration_ms")
    row["EndedAt"] = ended
    row["StartedAt"] = (
        _time_ns(body["started_at"], "started_at") if body.get("started_at") else ended - int(duration_ms * 1e6)
    )
    reason = _str(body.get("close_reason"), "close_reason")
    row["CloseReason"] = reason.lower().removeprefix("cr_")
    row["Turns"] = _int(body.get("user_turns", 0), "user_turns")
    errors = body.get("errors") or {}
    if not isinstance(errors, dict):
        raise UsageError("errors: expected an object of counts")
    row["Errors"] = sum(_int(v, f"errors.{k}") for k, v in errors.items())
    usage = body.get("usage")
    if not isinstance(usage, list):
        raise UsageError("usage: expected a list of model usage entries")
    for i, entry in enumerate(usage):
        _add_model_usage(row, entry, f"usage[{i}]")
    return row


def _add_model_usage(row: dict[str, Any], entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected an object")
    kind = _str(entry.get("type"), f"{where}.type", required=True)
    provider = _str(entry.get("provider"), f"{where}.provider")
    model = _str(entry.get("model"), f"{where}.model")

    def n(key: str) -> int:
        return _int(entry.get(key, 0), f"{where}.{key}")

    if kind == "llm_usage":
        audio_in, text_in, audio_out, text_out = (
            n("input_audio_tokens"),
            n("input_text_tokens"),
            n("output_audio_tokens"),
            n("output_text_tokens"),
        )
        split = audio_in + text_in + audio_out + text_out > 0
        # a pipeline LLM reports no modality split: its tokens are text
        row["InputAudioTokens"] += audio_in
        row["InputTextTokens"] += text_in if split else n("input_tokens")
        row["CachedAudioTokens"] += n("input_cached_audio_tokens")
        row["CachedTextTokens"] += n("input_cached_text_tokens") if split else n("input_cached_tokens")
        row["OutputAudioTokens"] += audio_out
        row["OutputTextTokens"] += text_out if split else n("output_tokens")
        row["CacheWriteTokens"] += n("input_cache_creation_tokens")
        row["ReasoningTokens"] += n("output_reasoning_tokens")
        stage = "realtime" if audio_in + audio_out > 0 else "llm"
    elif kind == "tts_usage":
        row["TtsCharacters"] += n("characters_count")
        row["TtsAudioS"] += _float(entry.get("audio_duration", 0), f"{where}.audio_duration")
        stage = "tts"
    elif kind == "stt_usage":
        row["SttAudioS"] += _float(entry.get("audio_duration", 0), f"{where}.audio_duration")
        stage = "stt"
    else:
        return  # interruption / end-of-turn model usage carries no tokens or seconds we record
    row["Models"].append(f"{stage}|{provider}|{model}")


def _from_plain(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - PLAIN_FIELDS)
    if unknown:
        raise UsageError(f"unknown field {unknown[0]!r}: expected SessionReport.to_dict() or a usage record")
    row = _blank()
    row["CallId"] = _str(body.get("call_id"), "call_id", required=True)
    for field, column in _STR_FIELDS.items():
        row[column] = _str(body.get(field), field)
    for field, column in _INT_FIELDS.items():
        row[column] = _int(body.get(field, 0), field)
    for field, column in _FLOAT_FIELDS.items():
        row[column] = _float(body.get(field, 0), field)
    if "started_at" not in body:
        raise UsageError("started_at: required (ISO 8601 or epoch seconds)")
    row["StartedAt"] = _time_ns(body["started_at"], "started_at")
    if "ended_at" in body:
        row["EndedAt"] = _time_ns(body["ended_at"], "ended_at")
    else:
        row["EndedAt"] = row["StartedAt"] + int(_float(body.get("call_duration", 0), "call_duration") * 1e9)
    if row["EndedAt"] < row["StartedAt"]:
        raise UsageError("ended_at: before started_at")
    models = body.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) and len(m) < 300 for m in models):
        raise UsageError("models: expected a list of 'stage|provider|model' strings")
    row["Models"] = models
    if "total_llm_tokens" in body:
        total = sum(row[c] for c in ("InputAudioTokens", "InputTextTokens", "OutputAudioTokens", "OutputTextTokens"))
        if _int(body["total_llm_tokens"], "total_llm_tokens") != total:
            raise UsageError(f"total_llm_tokens: {body['total_llm_tokens']} is not input + output tokens ({total})")
    return row


def parse_usage(body: Any) -> tuple[dict[str, Any], str]:
    """One row for lk_usage_posted and which format it came as; UsageError names the bad field."""
    if not isinstance(body, dict):
        raise UsageError("body: expected a JSON object")
    if "usage" in body and ("job_id" in body or "room_id" in body):
        row, kind = _from_session_report(body), "session_report"
    else:
        row, kind = _from_plain(body), "usage_record"
    row["PostedAt"] = time.time_ns()
    return row, kind


def usage_table(row: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist([row], schema=USAGE_POSTED)
