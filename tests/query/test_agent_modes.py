"""Every agent mode counted as livekit-agents counts it: recorded real-framework sessions
(tests/fixtures/livekit/<scenario>, scripts/record_livekit.py) replayed into a fresh server, and every
number the dashboard panels, the call list and the admin API show for the call compared with the
framework's own `session.usage` and `SessionReport`.

Documented exceptions (docs/panels.md): a realtime model's cached tokens are split into audio and text
in proportion where the framework reported usage on no span (the total is exact); STT seconds of a
session without a job context belong to no call (the service totals count them, as unattributed);
with `allow_pii=False` or without a job there is no room name to show."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from livekit_dashboard.server import DashboardServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "livekit"
ADMIN = "admin-key-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
RANGE = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
DATES = {"start_date": "2020-01-01", "end_date": "2099-01-01"}
CANONICAL_PROVIDERS = {"openai", "cartesia", "deepgram"}


@dataclass(frozen=True)
class Mode:
    scenario: str
    transport: str = "http"  # http | grpc
    post_report: bool = False  # the worker also posts its SessionReport to /v1/usage
    twice: bool = False  # every body delivered twice (a client retry after a lost reply)


MODES = {
    "pipeline (audio)": Mode("pipeline_audio"),
    "pipeline over gRPC": Mode("pipeline_audio", transport="grpc"),
    "speech-to-speech": Mode("realtime_tools"),
    "DELTA metrics": Mode("delta_metrics"),
    "no PII": Mode("no_pii"),
    "no job context": Mode("no_job_context"),
    "posted report": Mode("pipeline_audio", post_report=True),
    "batches delivered twice": Mode("realtime_tools", twice=True),
}


@dataclass(frozen=True)
class Truth:
    """What the framework itself counted for the session."""

    llm: dict[str, Any]
    tts: dict[str, Any]
    stt: dict[str, Any]
    turns: int
    errors: int
    spoken_replies: int
    summary: dict[str, Any]


def truth(scenario: str) -> Truth:
    usage = json.loads((FIXTURES / scenario / "session_usage.json").read_text())
    summary = json.loads((FIXTURES / scenario / "summary.json").read_text())
    by_type = {u["type"]: u for u in usage}
    gt = summary["ground_truth"]
    # without a job there is no SessionReport: the framework's user_turn spans are the count
    turns = gt["user_turns"] if gt["user_turns"] is not None else summary["counts"]["user_turn_spans"]
    return Truth(
        llm=by_type["llm_usage"],
        tts=by_type.get("tts_usage", {"characters_count": 0, "audio_duration": 0.0}),
        stt=by_type.get("stt_usage", {"audio_duration": 0.0}),
        turns=turns,
        errors=sum((gt["errors"] or {}).values()),
        spoken_replies=summary["counts"]["agent_replies_spoken"],
        summary=summary,
    )


_GRPC: dict[str, tuple[Any, Any]] = {
    "traces": (trace_service_pb2_grpc.TraceServiceStub, ExportTraceServiceRequest),
    "logs": (logs_service_pb2_grpc.LogsServiceStub, ExportLogsServiceRequest),
    "metrics": (metrics_service_pb2_grpc.MetricsServiceStub, ExportMetricsServiceRequest),
}


def replay(server: DashboardServer, mode: Mode) -> None:
    # metrics_0.pb … metrics_3.pb: DELTA collections, in order
    bodies = [
        (f.name.split(".")[0].split("_")[0], f.read_bytes()) for f in sorted((FIXTURES / mode.scenario).glob("*.pb"))
    ]
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") if mode.transport == "grpc" else None
    for signal, body in bodies:
        for _ in range(2 if mode.twice else 1):
            if channel is not None:
                stub, message = _GRPC[signal]
                response = stub(channel).Export(message.FromString(body), timeout=30)
                assert not response.HasField("partial_success")
            else:
                r = httpx.post(
                    f"{server.base_url}/v1/{signal}", content=body, headers={"Content-Type": "application/x-protobuf"}
                )
                assert r.status_code == 200, r.text
    if channel is not None:
        channel.close()
    if mode.post_report:
        report = json.loads((FIXTURES / mode.scenario / "session_report.json").read_text())
        r = httpx.post(f"{server.base_url}/v1/usage", json=report)
        assert r.status_code == 200, r.text


def panel(server: DashboardServer, name: str, **params: Any) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.base_url}/api/v1/panels/{name}", params={**RANGE, **params}, timeout=60)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def admin(server: DashboardServer, path: str) -> Any:
    r = httpx.get(f"{server.base_url}/admin/analytics/{path}", params=DATES, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.parametrize("name", list(MODES))
def test_every_number_equals_the_frameworks_own(make_server: Any, name: str) -> None:
    mode = MODES[name]
    t = truth(mode.scenario)
    server = make_server(admin_key=ADMIN)
    replay(server, mode)
    realtime = mode.scenario == "realtime_tools"

    # tokens: the dashboard tile, the admin summary and the call row
    tokens = panel(server, "token_usage_totals")[0]
    summary = admin(server, "tokens/summary")
    (call,) = admin(server, "calls")["calls"]
    llm = t.llm
    assert (tokens["input_tokens"], tokens["output_tokens"], tokens["cache_read_tokens"]) == (
        llm["input_tokens"],
        llm["output_tokens"],
        llm["input_cached_tokens"],
    )
    assert summary["total_records"] == 1
    assert summary["total_llm_tokens"] == call["total_llm_tokens"] == llm["input_tokens"] + llm["output_tokens"]
    assert summary["total_llm_input_text_tokens"] + summary["total_llm_input_audio_tokens"] == llm["input_tokens"]
    assert summary["total_llm_output_text_tokens"] + summary["total_llm_output_audio_tokens"] == llm["output_tokens"]
    cached = summary["total_llm_input_cached_text_tokens"] + summary["total_llm_input_cached_audio_tokens"]
    assert cached == llm["input_cached_tokens"]
    if realtime:  # the modality split of a speech-to-speech model, as the framework reports it
        for side in ("input_audio", "input_text", "output_audio", "output_text"):
            assert tokens[f"{side}_tokens"] == llm[f"{side}_tokens"], side
            assert summary[f"total_llm_{side}_tokens"] == llm[f"{side}_tokens"], side
        # usage the framework counted on no span (a reply without a response id, a late tool reply)
        spans = t.summary["realtime_usage_on_spans"]["total_on_spans"]
        missing = (
            llm["input_tokens"]
            + llm["output_tokens"]
            - spans["gen_ai.usage.input_tokens"]
            - spans["gen_ai.usage.output_tokens"]
        )
        assert tokens["unattributed_tokens"] == missing > 0
    else:
        assert summary["total_llm_input_audio_tokens"] == summary["total_llm_output_audio_tokens"] == 0
        assert tokens["unattributed_tokens"] == 0

    # speech: the service totals, the admin summary, the call row
    speech = panel(server, "speech_usage")
    tts_chars, tts_s = t.tts["characters_count"], t.tts["audio_duration"]
    stt_s = t.stt["audio_duration"]
    assert sum(r["tts_characters"] for r in speech) == summary["total_tts_characters"] == tts_chars
    assert call["tts_characters"] == tts_chars
    assert sum(r["tts_audio_s"] for r in speech) == pytest.approx(tts_s)
    assert summary["total_tts_audio_duration"] == pytest.approx(tts_s)
    assert sum(r["stt_audio_s"] for r in speech) == pytest.approx(stt_s)
    unattributed_stt = sum(r["unattributed_stt_s"] for r in speech)
    if mode.scenario == "no_job_context":  # STT seconds exist only as counters without a job id
        assert stt_s > 0
        assert unattributed_stt == pytest.approx(stt_s)
        assert summary["total_stt_audio_duration"] == call["stt_audio_duration"] == 0
    else:
        assert unattributed_stt == 0
        assert summary["total_stt_audio_duration"] == pytest.approx(stt_s)
        assert call["stt_audio_duration"] == pytest.approx(stt_s)

    # turns: the tile, the error tiles' denominator, the call row, the below-threshold list
    per_call = panel(server, "turns_per_conversation")[0]
    errors = panel(server, "error_rate")[0]
    assert per_call["turns"] == errors["turns"] == call["turns"] == t.turns
    assert per_call["calls"] == errors["calls"] == 1
    below = panel(server, "conversations_below_threshold", threshold=3)
    assert [r["turns"] for r in below] == ([t.turns] if t.turns < 3 else [])

    # errors: each count in its definition (docs/panels.md), reconciled across views
    assert call["errors"] == admin(server, "calls/summary")["total_errors"] == t.errors
    assert errors["failed_turns"] == t.turns - t.spoken_replies
    assert errors["failures"] + errors["recovered_requests"] == t.errors  # no retried attempts here
    assert errors["failed_calls"] == (1 if t.errors else 0)
    groups = panel(server, "error_groups")
    records = panel(server, "error_records", limit=1000)
    assert sum(g["occurrences"] for g in groups) == len(records)
    assert len(records) == errors["failures"] + errors["recovered_requests"] + errors["tool_errors"]
    assert {g["calls"] for g in groups} <= {1}
    if realtime:  # the two failed replies (one before any span) are one cause, on the realtime model
        assert [(g["stage"], g["provider"], g["model"], g["occurrences"]) for g in groups] == [
            ("realtime", "openai", "gpt-realtime", 2)
        ]

    # requests and providers: one canonical name per provider everywhere
    models = panel(server, "model_distribution")
    stage = "realtime" if realtime else "llm"
    spans = t.summary["counts"]["realtime_inference_spans" if realtime else "llm_request_spans"]
    assert sum(m["requests"] for m in models if m["stage"] == stage) == spans
    assert {m["provider"] for m in models} <= CANONICAL_PROVIDERS
    assert {m.split("|")[1] for m in call["models"]} <= CANONICAL_PROVIDERS
    assert {m["model"] for m in models} == {m.split("|")[2] for m in call["models"]}

    # the call: its identity, whichever source wrote the record
    ids = t.summary
    assert call["trace_id"] == ids["trace_ids"][0]
    assert call["call_id"] == (ids["job_id"] or ids["trace_ids"][0])
    expected_room = "" if mode.scenario in ("no_pii", "no_job_context") else ids["room"]
    assert call["room_name"] == expected_room
    assert [call["service"]] == [r["service"] for r in panel(server, "services_languages")]
    assert call["assistant_id"] != ""
    by_assistant = admin(server, "tokens/by-assistant")
    assert [(a["assistant_id"], a["total_llm_tokens"]) for a in by_assistant] == [
        (call["assistant_id"], call["total_llm_tokens"])
    ]
    assert call["source"] == ("posted" if mode.post_report else "telemetry")


def test_the_room_name_comes_from_the_job_span_when_the_session_has_none(make_server: Any) -> None:
    """In a worker the job span (job_entrypoint) is the trace root and names the room; the session's
    own lk.pii.room_name can be empty (the room was not connected yet when it started)."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "worker-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("livekit-agents")
    job = {"lk.job_id": "AJ_worker", "lk.room_sid": "RM_worker", "lk.agent_name": "front-desk"}
    with (
        tracer.start_as_current_span("job_entrypoint", attributes={**job, "lk.pii.room_name": "support-room-7"}),
        tracer.start_as_current_span("agent_session", attributes={**job, "lk.pii.room_name": ""}),
        tracer.start_as_current_span("agent_turn"),
    ):
        pass
    provider.shutdown()
    server = make_server(admin_key=ADMIN)
    body = encode_spans(memory.get_finished_spans()).SerializeToString()
    r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200, r.text
    (call,) = admin(server, "calls")["calls"]
    assert (call["call_id"], call["room_name"], call["agent_name"]) == ("AJ_worker", "support-room-7", "front-desk")
    (short,) = panel(server, "conversations_below_threshold")
    assert short["room_name"] == "support-room-7"


def test_a_failure_naming_no_provider_takes_its_calls_model_from_another_hour(make_server: Any) -> None:
    """A record whose span or log names no provider (a realtime reply that failed before any span, a
    failed agent_turn) takes the provider and model of its call's requests of the same stage. The
    lookup reads only the hours the call's spans cover: failures two hours after the rest of the call
    (the failed turn's span and the failure logs, in an hour with no request of the call) still find
    them."""
    server = make_server(admin_key=ADMIN)
    folder = FIXTURES / "realtime_tools"
    logs = ExportLogsServiceRequest.FromString((folder / "logs.pb").read_bytes())
    traces = ExportTraceServiceRequest.FromString((folder / "traces.pb").read_bytes())
    records = [r for rl in logs.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    spans = [s for rs in traces.resource_spans for ss in rs.scope_spans for s in ss.spans]
    failed_replies = [r for r in records if r.severity_number >= 17]  # ERROR logs
    failed_turns = [s for s in spans if s.status.code == 2]  # the failed agent_turn
    assert (len(failed_replies), len(failed_turns)) == (2, 1)
    later = 2 * 3600 * 10**9
    for record in failed_replies:
        record.time_unix_nano += later
        record.observed_time_unix_nano += later
    for span in failed_turns:
        span.start_time_unix_nano += later
        span.end_time_unix_nano += later
    for signal, body in (("traces", traces.SerializeToString()), ("logs", logs.SerializeToString())):
        r = httpx.post(
            f"{server.base_url}/v1/{signal}", content=body, headers={"Content-Type": "application/x-protobuf"}
        )
        assert r.status_code == 200, r.text
    groups = panel(server, "error_groups")
    # the failed agent_turn and the failure log, both two hours after the requests: one cause
    assert [(g["stage"], g["provider"], g["model"], g["occurrences"]) for g in groups] == [
        ("realtime", "openai", "gpt-realtime", 2)
    ]
    shown = panel(server, "error_records", limit=100)
    assert {(r["kind"], r["provider"], r["model"]) for r in shown} == {("failure", "openai", "gpt-realtime")}
    assert len(shown) == 2
