"""Error records are classified when their trace settles (lk_error_records), and a trace settled again
replaces them: a record the trace no longer has is deleted, whatever order its spans arrived in."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Status, StatusCode, TraceFlags

from livekit_dashboard.ingest.logs import prepare_logs
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.query.call_records import CallRecords
from livekit_dashboard.query.panels import PanelQuery, run_panel
from livekit_dashboard.store import Engine

HOUR_NS = 3600 * 10**9


def failing_call() -> list[ReadableSpan]:
    """A call (real SDK tracer) with one failed reply: its agent_turn and llm_node failed because its LLM
    request failed, after a retry attempt (`llm_request_run`) that failed too."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents", "1.3.0")
    error = Status(StatusCode.ERROR, "upstream 503")
    attrs = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.provider.name": "openai"}
    session = {"lk.job_id": "AJ_err", "lk.room_name": "r"}
    with (
        tracer.start_as_current_span("agent_session", attributes=session),
        tracer.start_as_current_span("agent_turn") as turn,
    ):
        with tracer.start_as_current_span("llm_node") as node:
            with tracer.start_as_current_span("llm_request", attributes=attrs) as request:
                with tracer.start_as_current_span("llm_request_run", attributes=attrs) as attempt:
                    attempt.set_status(error)
                request.set_status(error)
            node.set_status(error)
        turn.set_status(error)
    provider.shutdown()
    return list(memory.get_finished_spans())


def no_call() -> list[ReadableSpan]:
    """A trace of a service that runs no agent session: one failed HTTP handler."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "billing-api"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("billing").start_as_current_span("POST /charge") as span:
        span.set_attribute("http.request.method", "POST")
        span.set_attribute("http.response.status_code", 502)
        span.set_status(Status(StatusCode.ERROR, "card processor timed out"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def insert(engine: Engine, spans: Sequence[ReadableSpan]) -> None:
    engine.insert_arrow("otel_traces", prepare_spans(encode_spans(list(spans))).tables["otel_traces"])


def records(engine: Engine) -> list[tuple[str, str]]:
    now = time.time_ns()
    rows = run_panel(engine, "error_records", PanelQuery(start_ns=now - HOUR_NS, end_ns=now + HOUR_NS, step_s=60))
    return sorted((r["kind"], r["span_name"]) for r in rows)


def totals(engine: Engine) -> dict[str, int]:
    now = time.time_ns()
    (row,) = run_panel(engine, "error_rate", PanelQuery(start_ns=now - HOUR_NS, end_ns=now + HOUR_NS, step_s=60))
    return {k: row[k] for k in ("failures", "recovered_requests", "tool_errors")}


def test_a_failure_that_later_gets_a_failed_child_is_replaced_by_the_child(engine: Engine) -> None:
    spans = failing_call()
    settle = CallRecords(engine).settle
    # the turn's span arrives before its step's (another batch, another exporter flush)
    insert(engine, [s for s in spans if s.name in ("agent_session", "agent_turn")])
    settle()
    assert records(engine) == [("failure", "agent_turn")]
    # the LLM request and its attempt arrive: the request is the root cause, the turn is its path
    insert(engine, [s for s in spans if s.name in ("llm_node", "llm_request", "llm_request_run")])
    settle()
    assert records(engine) == [("failure", "llm_request")]
    assert totals(engine) == {"failures": 1, "recovered_requests": 0, "tool_errors": 0}
    # the deletion is a row of its own: the newest version of the turn's record says it is gone
    deleted = engine.query("SELECT SpanName AS s FROM lk_error_records FINAL WHERE Deleted = 1")
    assert deleted == [], "FINAL hides deleted records"
    assert engine.query("SELECT count() AS n FROM lk_error_records WHERE Deleted = 1")[0]["n"] == 1


def test_an_attempt_recovered_until_its_request_fails(engine: Engine) -> None:
    spans = failing_call()
    settle = CallRecords(engine).settle
    insert(engine, [s for s in spans if s.name in ("agent_session", "llm_request_run")])
    settle()
    # a failed attempt whose request did not fail (yet): a recovered request
    assert records(engine) == [("recovered", "llm_request")]
    assert totals(engine)["recovered_requests"] == 1
    insert(engine, [s for s in spans if s.name == "llm_request"])
    settle()
    assert records(engine) == [("failure", "llm_request")]
    assert totals(engine) == {"failures": 1, "recovered_requests": 0, "tool_errors": 0}


def test_a_trace_with_no_call_has_error_records(engine: Engine) -> None:
    insert(engine, no_call())
    CallRecords(engine).settle()
    assert engine.query("SELECT count() AS n FROM lk_call_records")[0]["n"] == 0
    now = time.time_ns()
    (row,) = run_panel(engine, "error_records", PanelQuery(start_ns=now - HOUR_NS, end_ns=now + HOUR_NS, step_s=60))
    got: dict[str, Any] = {k: row[k] for k in ("kind", "service", "span_name", "message", "http_status")}
    assert got == {
        "kind": "failure",
        "service": "billing-api",
        "span_name": "POST /charge",
        "message": "card processor timed out",
        "http_status": "502",
    }


def test_settling_again_changes_nothing(engine: Engine) -> None:
    insert(engine, failing_call())
    records_ = CallRecords(engine)
    records_.settle()
    before = engine.query("SELECT count() AS n FROM lk_error_records")[0]["n"]
    engine.command("INSERT INTO lk_call_touch (TouchedAt, TraceId, CallId) SELECT now64(3), TraceId, '' FROM lk_errors")
    assert records_.settle() == 1
    assert records(engine) == [("failure", "llm_request")]
    # a second version of the one record, no deletion
    assert engine.query("SELECT count() AS n FROM lk_error_records")[0]["n"] == before + 1
    assert engine.query("SELECT count() AS n FROM lk_error_records WHERE Deleted = 1")[0]["n"] == 0


def failed_reply_log(at_ns: int, trace_id: int) -> Any:
    """livekit-agents' ERROR log of a realtime reply that failed before any span existed."""
    record = LogRecord(
        timestamp=at_ns,
        trace_id=trace_id,
        span_id=0,
        trace_flags=TraceFlags(1 if trace_id else 0),
        severity_number=SeverityNumber.ERROR,
        severity_text="ERROR",
        body="failed to generate a reply: upstream 503",
    )
    return ReadableLogRecord(
        record, Resource.create({"service.name": "realtime-agent"}), InstrumentationScope("livekit.agents", "")
    )


def test_failure_logs_with_no_span_stored_or_no_trace_are_records(engine: Engine) -> None:
    """A failed reply's ERROR log whose trace has no stored span (not sampled, not sent) settles in the
    window its own rows give, however old; one sent with no trace context is a record too."""
    now = time.time_ns()
    logs = [
        failed_reply_log(now - 48 * HOUR_NS, 0xA1),  # its trace's spans were never stored
        failed_reply_log(now - 5 * 60 * 10**9, 0xA2),
        failed_reply_log(now - 30 * 60 * 10**9, 0),  # no trace context
    ]
    engine.insert_arrow("otel_logs", prepare_logs(encode_logs(logs)).tables["otel_logs"])
    CallRecords(engine).settle()
    query = PanelQuery(start_ns=now - 72 * HOUR_NS, end_ns=now + HOUR_NS, step_s=3600)
    rows = run_panel(engine, "error_records", query)
    assert sorted((r["trace_id"], r["kind"], r["message"]) for r in rows) == [
        ("", "failure", "upstream 503"),
        (f"{0xA1:032x}", "failure", "upstream 503"),
        (f"{0xA2:032x}", "failure", "upstream 503"),
    ]
    (rate,) = run_panel(engine, "error_rate", query)
    assert rate["failures"] == 3
    (group,) = run_panel(engine, "error_groups", query)
    assert group["occurrences"] == 3
