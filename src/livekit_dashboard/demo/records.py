"""Records: what the demo simulates (spans, logs, a call's usage) and the builder that fills them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from livekit_dashboard.demo.catalog import Model, Service

__all__ = ["NS", "Builder", "CallRecord", "LogSpec", "SpanSpec"]

NS = 1_000_000_000


@dataclass(slots=True)
class SpanSpec:
    name: str
    span_id: int
    parent_id: int | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    error: str = ""  # status message when the span failed
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)


@dataclass(slots=True)
class LogSpec:
    time_ns: int
    severity: str  # INFO, WARN, ERROR
    body: str
    span_id: int | None
    attributes: dict[str, Any]
    logger: str = "livekit.agents"


@dataclass(slots=True)
class CallRecord:
    service: Service
    trace_id: int
    start_ns: int
    end_ns: int
    room_sid: str
    job_id: str
    spans: list[SpanSpec] = field(default_factory=list)
    logs: list[LogSpec] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)  # counter name -> total for the call
    llm: Model | None = None
    stt: Model | None = None
    tts: Model | None = None
    realtime: bool = False
    e2e_latencies_s: list[float] = field(default_factory=list)
    llm_durations_s: list[float] = field(default_factory=list)


class Builder:
    def __init__(self, rng: random.Random, call: CallRecord) -> None:
        self.rng = rng
        self.call = call
        self.common = {"gen_ai.conversation.id": call.room_sid}

    def span_id(self) -> int:
        return self.rng.getrandbits(64) or 1

    def add(self, name: str, parent: int | None, start: int, end: int, attrs: dict[str, Any]) -> SpanSpec:
        spec = SpanSpec(name, self.span_id(), parent, start, max(end, start + 1000), {**self.common, **attrs})
        self.call.spans.append(spec)
        return spec

    def log(self, t: int, severity: str, body: str, span: SpanSpec | None, **attrs: Any) -> None:
        self.call.logs.append(LogSpec(t, severity, body, span.span_id if span else None, attrs))

    def bump(self, key: str, value: float) -> None:
        self.call.usage[key] = self.call.usage.get(key, 0.0) + value

    def fail(self, span: SpanSpec, error_type: str, exc_type: str, message: str) -> None:
        span.error = message
        span.attributes["error.type"] = error_type
        span.events.append(
            (
                "exception",
                span.end_ns,
                {
                    "exception.type": exc_type,
                    "exception.message": message,
                    "exception.stacktrace": (f"Traceback (most recent call last):\n  ...\n{exc_type}: {message}\n"),
                    "exception.escaped": "False",
                },
            )
        )
