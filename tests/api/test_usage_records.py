"""Per-call usage records and the admin analytics API: totals checked against independently computed
sums (the framework's own session.usage, the simulated calls), several batches, delta and cumulative
counters, posted reports replacing derived records, filters and inclusive date bounds."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.demo.generator import call_spans, resource_for, simulate
from livekit_dashboard.server import DashboardServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "livekit"
ADMIN = "admin-key-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PB = {"Content-Type": "application/x-protobuf"}


@pytest.fixture
def admin_server(make_server: Any) -> DashboardServer:
    return make_server(admin_key=ADMIN)  # type: ignore[no-any-return]


def admin(server: DashboardServer, path: str, **params: Any) -> Any:
    r = httpx.get(f"{server.base_url}/admin/analytics/{path}", params=params, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    assert isinstance(body["message"], str)
    return body["data"]


def post_recording(server: DashboardServer) -> None:
    for signal in ("traces", "metrics"):
        body = (FIXTURES / f"{signal}.pb").read_bytes()
        assert httpx.post(f"{server.base_url}/v1/{signal}", content=body, headers=PB).status_code == 200


COST_FIELDS = {
    "total_cost_usd",
    "total_cost_llm_usd",
    "total_cost_realtime_usd",
    "total_cost_tts_usd",
    "total_cost_stt_usd",
    "total_cost_excluded_usd",
    "unpriced_records",
}


def test_real_session_usage_equals_the_frameworks_own(admin_server: DashboardServer) -> None:
    post_recording(admin_server)
    usage = json.loads((FIXTURES / "session_usage.json").read_text())
    (llm,) = [u for u in usage if u["type"] == "llm_usage"]
    summary = admin(admin_server, "tokens/summary")
    assert summary["total_records"] == 1
    # a pipeline LLM has no modality split: its tokens are text
    assert summary["total_llm_input_text_tokens"] == llm["input_tokens"]
    assert summary["total_llm_input_cached_text_tokens"] == llm["input_cached_tokens"]
    assert summary["total_llm_output_text_tokens"] == llm["output_tokens"]
    assert summary["total_llm_input_audio_tokens"] == summary["total_llm_output_audio_tokens"] == 0
    assert summary["total_llm_tokens"] == llm["input_tokens"] + llm["output_tokens"]
    # the spec's fields, and beside them (added, none changed) the cost of the same records
    assert set(summary) - COST_FIELDS == {
        "total_records",
        "total_llm_input_audio_tokens",
        "total_llm_input_text_tokens",
        "total_llm_input_cached_audio_tokens",
        "total_llm_input_cached_text_tokens",
        "total_llm_output_audio_tokens",
        "total_llm_output_text_tokens",
        "total_llm_tokens",
        "total_tts_characters",
        "total_tts_audio_duration",
        "total_call_duration_minutes",
        "total_stt_audio_duration",
    }
    assert set(summary) >= COST_FIELDS
    assert summary["total_cost_usd"] > 0
    report = json.loads((FIXTURES / "session_report.json").read_text())
    (call,) = admin(admin_server, "calls")["calls"]
    assert call["call_id"] == report["job_id"]
    assert (call["user_email"], call["assistant_id"]) == ("alice@example.com", "asst_42")
    assert call["turns"] == report["user_turns"]
    assert call["errors"] == sum(report["errors"].values())
    assert call["models"] == ["llm|openai|gpt-4o-mini"]
    assert call["source"] == "telemetry"


def test_posted_session_report_replaces_the_derived_record(admin_server: DashboardServer) -> None:
    post_recording(admin_server)
    report = json.loads((FIXTURES / "session_report.json").read_text())
    report["user_email"] = "bob@example.com"
    for _ in range(2):  # idempotent on re-post
        r = httpx.post(f"{admin_server.base_url}/v1/usage", json=report)
        assert r.status_code == 200, r.text
        assert r.json()["data"] == {"call_id": report["job_id"], "format": "session_report"}
    (call,) = admin(admin_server, "calls")["calls"]
    assert (call["source"], call["user_email"], call["close_reason"]) == ("posted", "bob@example.com", "user_initiated")
    llm = report["usage"][0]
    summary = admin(admin_server, "tokens/summary")
    assert summary["total_records"] == 1
    assert summary["total_llm_tokens"] == llm["input_tokens"] + llm["output_tokens"]
    assert summary["total_call_duration_minutes"] == pytest.approx(report["duration_ms"] / 60000, rel=1e-6)


def _call_sums(calls: list[Any]) -> dict[str, int]:
    sums: dict[str, int] = dict.fromkeys(
        ("in_audio", "in_text", "cached_audio", "cached_text", "out_audio", "out_text"), 0
    )
    for c in calls:
        for s in c.spans:
            a = s.attributes
            if s.name == "llm_request" and "gen_ai.usage.input_tokens" in a:
                sums["in_text"] += a["gen_ai.usage.input_tokens"]
                sums["cached_text"] += a.get("gen_ai.usage.cache_read.input_tokens", 0)
                sums["out_text"] += a["gen_ai.usage.output_tokens"]
            elif s.name == "realtime_inference":
                sums["in_audio"] += a["gen_ai.usage.audio.input_tokens"]
                sums["in_text"] += a["gen_ai.usage.text.input_tokens"]
                sums["cached_audio"] += a["gen_ai.usage.audio.cache_read.input_tokens"]
                sums["cached_text"] += a["gen_ai.usage.text.cache_read.input_tokens"]
                sums["out_audio"] += a["gen_ai.usage.audio.output_tokens"]
                sums["out_text"] += a["gen_ai.usage.text.output_tokens"]
    return sums


def test_pipeline_and_realtime_calls_from_the_demo(admin_server: DashboardServer) -> None:
    config = DemoConfig(calls=50, days=2, seed=21, end_ns=time.time_ns() - 60 * 10**9)
    generate(config, admin_server.base_url)
    calls = simulate(config)
    assert any(c.realtime for c in calls)
    assert any(not c.realtime for c in calls)
    sums = _call_sums(calls)
    summary = admin(admin_server, "tokens/summary")
    assert summary["total_records"] == len(calls)
    assert summary["total_llm_input_audio_tokens"] == sums["in_audio"]
    assert summary["total_llm_input_text_tokens"] == sums["in_text"]
    assert summary["total_llm_input_cached_audio_tokens"] == sums["cached_audio"]
    assert summary["total_llm_input_cached_text_tokens"] == sums["cached_text"]
    assert summary["total_llm_output_audio_tokens"] == sums["out_audio"]
    assert summary["total_llm_output_text_tokens"] == sums["out_text"]
    assert summary["total_llm_tokens"] == sums["in_audio"] + sums["in_text"] + sums["out_audio"] + sums["out_text"]
    # TTS from the lk.tts_metrics JSON on spans; STT seconds only exist as lk.agents.usage counters
    assert summary["total_tts_characters"] == sum(c.usage.get("lk.agents.usage.tts_characters", 0) for c in calls)
    assert summary["total_tts_audio_duration"] == pytest.approx(
        sum(c.usage.get("lk.agents.usage.tts_audio_duration", 0) for c in calls)
    )
    assert summary["total_stt_audio_duration"] == pytest.approx(
        sum(c.usage.get("lk.agents.usage.stt_audio_duration", 0) for c in calls)
    )
    assert summary["total_call_duration_minutes"] == pytest.approx(
        sum(next(s.end_ns - s.start_ns for s in c.spans if s.name == "agent_session") for c in calls) / 6e10, rel=1e-6
    )
    calls_summary = admin(admin_server, "calls/summary")
    assert calls_summary["total_calls"] == len(calls)
    assert calls_summary["total_turns"] == sum(1 for c in calls for s in c.spans if s.name == "agent_turn")
    by_assistant = admin(admin_server, "tokens/by-assistant")
    assert {r["assistant_id"] for r in by_assistant} == {c.service.agent_name for c in calls}
    assert sum(r["total_records"] for r in by_assistant) == len(calls)
    days = admin(admin_server, "tokens/over-time", granularity="day")
    assert sum(r["total_llm_tokens"] for r in days) == summary["total_llm_tokens"]
    assert all(r["period"].endswith("T00:00:00Z") for r in days)
    page = admin(admin_server, "calls", sort="total_llm_tokens", order="desc", page_size="5")
    assert page["total"] == len(calls)
    tokens = [c["total_llm_tokens"] for c in page["calls"]]
    assert tokens == sorted(tokens, reverse=True)
    assert len(tokens) == 5


def test_a_call_in_several_batches_out_of_order(admin_server: DashboardServer) -> None:
    (call,) = simulate(DemoConfig(calls=1, days=0.1, seed=3, end_ns=time.time_ns()))
    spans = list(call_spans(call, resource_for(call.service)))
    thirds = [spans[i::3] for i in range(3)]
    for part in reversed(thirds):
        body = encode_spans(part).SerializeToString()
        assert httpx.post(f"{admin_server.base_url}/v1/traces", content=body, headers=PB).status_code == 200
    sums = _call_sums([call])
    summary = admin(admin_server, "tokens/summary")
    assert summary["total_records"] == 1
    assert summary["total_llm_input_text_tokens"] == sums["in_text"]
    assert summary["total_llm_output_text_tokens"] + summary["total_llm_output_audio_tokens"] == (
        sums["out_text"] + sums["out_audio"]
    )
    (record,) = admin(admin_server, "calls")["calls"]
    assert record["call_id"] == call.job_id
    assert record["turns"] == sum(1 for s in call.spans if s.name == "agent_turn")


def _counter(
    request: ExportMetricsServiceRequest, name: str, points: list[tuple[int, int, float]], temporality: int, job: str
) -> None:
    rm = request.resource_metrics.add()
    rm.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="m-agent")))
    metric = rm.scope_metrics.add().metrics.add(name=name)
    metric.sum.aggregation_temporality = temporality  # type: ignore[assignment]
    metric.sum.is_monotonic = True
    for start, t, value in points:
        point = metric.sum.data_points.add(start_time_unix_nano=start, time_unix_nano=t, as_double=value)
        point.attributes.append(KeyValue(key="job_id", value=AnyValue(string_value=job)))


def test_delta_and_cumulative_counters_with_reset(admin_server: DashboardServer) -> None:
    now = time.time_ns()
    jobs = []
    for i, temporality in enumerate((1, 2)):  # DELTA, CUMULATIVE
        (call,) = simulate(DemoConfig(calls=1, days=0.05, seed=100 + i, end_ns=now))
        jobs.append(call.job_id)
        body = encode_spans(list(call_spans(call, resource_for(call.service)))).SerializeToString()
        assert httpx.post(f"{admin_server.base_url}/v1/traces", content=body, headers=PB).status_code == 200
        request = ExportMetricsServiceRequest()
        t0 = now - 10**12
        if temporality == 1:
            points = [(t0, t0 + 10**9, 4.0), (t0 + 10**9, t0 + 2 * 10**9, 6.5)]
        else:  # 4, then 10.5 cumulative; then a restart (new start time) adds 2
            points = [(t0, t0 + 10**9, 4.0), (t0, t0 + 2 * 10**9, 10.5), (t0 + 3 * 10**9, t0 + 4 * 10**9, 2.0)]
        _counter(request, "lk.agents.usage.stt_audio_duration", points, temporality, call.job_id)
        r = httpx.post(f"{admin_server.base_url}/v1/metrics", content=request.SerializeToString(), headers=PB)
        assert r.status_code == 200
    calls = {c["call_id"]: c for c in admin(admin_server, "calls")["calls"]}
    assert calls[jobs[0]]["stt_audio_duration"] == pytest.approx(10.5)
    assert calls[jobs[1]]["stt_audio_duration"] == pytest.approx(12.5)


def _plain(call_id: str, started: str, user: str, assistant: str, text_in: int) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "started_at": started,
        "call_duration": 90,
        "user_email": user,
        "assistant_id": assistant,
        "llm_input_text_tokens": text_in,
        "llm_output_text_tokens": 10,
        "tts_characters": 100,
        "tts_audio_duration": 6.5,
        "stt_audio_duration": 30.0,
        "total_llm_tokens": text_in + 10,
    }


def test_filters_and_inclusive_date_bounds(admin_server: DashboardServer) -> None:
    records = [
        _plain("c1", "2026-01-10T00:00:00Z", "alice@example.com", "support", 100),
        _plain("c2", "2026-01-10T12:00:00Z", "bob@example.com", "support", 200),
        _plain("c3", "2026-01-11T23:59:59Z", "alice@example.com", "sales", 400),
        _plain("c4", "2026-01-12T00:00:00Z", "alice@example.com", "sales", 800),
    ]
    for record in records:
        assert httpx.post(f"{admin_server.base_url}/v1/usage", json=record).status_code == 200

    def total(**params: Any) -> int:
        return int(admin(admin_server, "tokens/summary", **params)["total_llm_input_text_tokens"])

    assert total(start_date="2026-01-01", end_date="2026-01-31") == 1500
    assert total(start_date="2026-01-10T00:00:00Z", end_date="2026-01-11") == 700  # c4 starts the next day
    assert total(start_date="2026-01-10T12:00:00Z", end_date="2026-01-12T00:00:00Z") == 1400  # both ends inclusive
    assert total(start_date="2026-01-01", end_date="2026-01-31", user_email="alice@example.com") == 1300
    assert total(start_date="2026-01-01", end_date="2026-01-31", assistant_id="sales") == 1200
    assert (
        total(start_date="2026-01-01", end_date="2026-01-31", user_email="bob@example.com", assistant_id="sales") == 0
    )
    users = admin(admin_server, "tokens/by-user", start_date="2026-01-01", end_date="2026-01-31")
    assert [(u["user_email"], u["total_llm_input_text_tokens"]) for u in users] == [
        ("alice@example.com", 1300),
        ("bob@example.com", 200),
    ]
    summary = admin(admin_server, "tokens/summary", start_date="2026-01-01", end_date="2026-01-31")
    assert summary["total_call_duration_minutes"] == pytest.approx(6.0)
    assert summary["total_stt_audio_duration"] == pytest.approx(120.0)
    calls = admin(admin_server, "calls/summary", start_date="2026-01-01", end_date="2026-01-31")
    assert (calls["total_calls"], calls["active_users"], calls["avg_duration_seconds"]) == (4, 2, 90.0)
    # default range is the last 30 days: these January records are outside it
    assert admin(admin_server, "tokens/summary")["total_records"] == 0
    # calls known only from a posted report (no trace) are in the call list, not in the calls panels
    january = {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}

    def panel(name: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{admin_server.base_url}/api/v1/panels/{name}", params=january, headers=AUTH, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()["rows"]  # type: ignore[no-any-return]

    listed = httpx.get(f"{admin_server.base_url}/api/v1/calls", params=january, headers=AUTH, timeout=60).json()
    assert listed["total"] == 4
    assert panel("turns_per_conversation")[0]["calls"] == 0
    assert panel("conversations_below_threshold") == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start_date": "last tuesday"}, "invalid start_date"),
        ({"end_date": "2026-13-40"}, "invalid end_date"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "after end_date"),
    ],
)
def test_invalid_dates_are_400_in_the_envelope(
    admin_server: DashboardServer, params: dict[str, str], message: str
) -> None:
    r = httpx.get(f"{admin_server.base_url}/admin/analytics/tokens/summary", params=params, headers=AUTH)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False
    assert message in body["message"]
    assert body["data"] is None


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("tokens/over-time", {"granularity": "year"}, "invalid granularity"),
        ("calls", {"sort": "name"}, "invalid sort"),
        ("calls", {"page": "0"}, "invalid page"),
        ("calls", {"page_size": "5000"}, "invalid page_size"),
    ],
)
def test_bad_admin_params(admin_server: DashboardServer, path: str, params: dict[str, str], message: str) -> None:
    r = httpx.get(f"{admin_server.base_url}/admin/analytics/{path}", params=params, headers=AUTH)
    assert r.status_code == 400
    assert message in r.json()["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"call_id": "x"}, "started_at: required"),
        ({"call_id": "x", "started_at": "2026-01-01", "llm_input_text_tokens": -1}, "llm_input_text_tokens"),
        ({"call_id": "x", "started_at": "2026-01-01", "tokens": 5}, "unknown field 'tokens'"),
        ({"call_id": "", "started_at": "2026-01-01"}, "call_id"),
        (
            {"call_id": "x", "started_at": "2026-01-01", "llm_input_text_tokens": 5, "total_llm_tokens": 9},
            "total_llm_tokens",
        ),
        ({"job_id": "j", "usage": [{"type": "llm_usage", "input_tokens": "many"}]}, "usage[0].input_tokens"),
        ({"job_id": "j", "usage": "none"}, "usage: expected a list"),
        ([1, 2], "body: expected a JSON object"),
    ],
)
def test_malformed_usage_is_400_naming_the_field_and_stores_nothing(
    admin_server: DashboardServer, body: Any, message: str
) -> None:
    r = httpx.post(f"{admin_server.base_url}/v1/usage", json=body)
    assert r.status_code == 400
    assert message in r.json()["message"]
    assert admin_server.engine.query("SELECT count() AS n FROM lk_usage_posted") == [{"n": 0}]
    bad_type = httpx.post(f"{admin_server.base_url}/v1/usage", content=b"x", headers={"Content-Type": "text/plain"})
    assert bad_type.status_code == 415
