"""Test helpers: real OpenTelemetry SDK pipelines that capture what they send."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode


def make_spans(service: str = "test-agent", n_turns: int = 2) -> list[ReadableSpan]:
    """A small LiveKit-shaped trace made by the real SDK tracer (captured in memory)."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.version": "1.2.3"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents", "1.8.9")
    with tracer.start_as_current_span("agent_session", attributes={"lk.job_id": "AJ_1", "lk.room_sid": "RM_1"}):
        for turn in range(n_turns):
            with tracer.start_as_current_span("agent_turn", attributes={"lk.e2e_latency": 0.81 + turn}) as agent:
                agent.add_event("generation", {"lk.generation_id": f"gen_{turn}"})
                with tracer.start_as_current_span(
                    "llm_request",
                    attributes={
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.usage.input_tokens": 100 + turn,
                        "gen_ai.usage.output_tokens": 20,
                        "gen_ai.request.stream": True,
                        "gen_ai.response.finish_reasons": ["stop"],
                        "gen_ai.response.time_to_first_chunk": 0.25,
                    },
                ) as llm:
                    if turn == 1:
                        llm.record_exception(ValueError("rate limited"))
                        llm.set_status(Status(StatusCode.ERROR, "rate limited"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def spans_by_id(spans: Sequence[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {format(s.context.span_id, "016x"): s for s in spans}
