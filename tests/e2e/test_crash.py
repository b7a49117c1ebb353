"""Crash durability: stream OTLP from the real SDK exporter (HTTP and gRPC) into a `serve` process,
SIGKILL it at random moments, restart it on the same data directory, and check that every span whose
request was acknowledged is stored exactly once, in the raw table and in every derived table."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from tests.e2e.test_cli import Served, count_rows
from tests.helpers import make_spans

pytestmark = pytest.mark.slow
KILLS = 5
# per batch (make_spans, 4 turns): 1 agent_session + 4 agent_turn + 4 llm_request spans; one call;
# input tokens 100..103 (the failed second request carries its usage attributes too)
_COUNTS = {
    "spans": "SELECT count() AS n FROM otel_traces",
    "distinct_spans": "SELECT uniqExact(TraceId, SpanId) AS n FROM otel_traces",
    "requests": "SELECT count() AS n FROM lk_requests",
    "turns": "SELECT count() AS n FROM lk_turns",
    "calls": "SELECT count() AS n FROM lk_calls",
    "errors": "SELECT count() AS n FROM lk_errors",
    "hour_requests": "SELECT sum(Requests) AS n FROM lk_request_hours",
    "hour_turns": "SELECT sum(Turns) AS n FROM lk_turn_hours",
    "minute_spans": "SELECT sum(Spans) AS n FROM lk_span_minutes",
    "usage_input_tokens": "SELECT sum(InputTokens) AS n FROM lk_call_usage",
    "failure_records": "SELECT countIf(Kind = 'failure') AS n FROM lk_error_records FINAL",
}


def _exporter(transport: str, server: Served) -> SpanExporter:
    if transport == "grpc":
        return GrpcSpanExporter(endpoint=f"127.0.0.1:{server.grpc_port}", insecure=True, timeout=60)
    return OTLPSpanExporter(endpoint=f"{server.url}/v1/traces", timeout=60)


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_acknowledged_spans_survive_sigkill_exactly_once(tmp_path: Path, transport: str) -> None:
    data_dir = tmp_path / "data"
    server = Served(data_dir)
    port, grpc_port, url = server.port, server.grpc_port, server.url
    batches = [make_spans(service="crash-agent", n_turns=4) for _ in range(120)]
    results: dict[int, SpanExportResult] = {}

    def stream() -> None:
        exporter = _exporter(transport, server)
        for i, spans in enumerate(batches):
            results[i] = exporter.export(spans)
            time.sleep(0.02)
        exporter.shutdown()

    sender = threading.Thread(target=stream)
    sender.start()
    rng = random.Random(7)
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.5, 2.0))
        server.proc.kill()  # SIGKILL: no shutdown, no flush
        server.proc.wait(30)
        time.sleep(rng.uniform(0.1, 0.8))
        server = Served(data_dir, port=port, grpc_port=grpc_port)
    sender.join(300)
    assert not sender.is_alive()
    try:
        acknowledged = [i for i, r in results.items() if r is SpanExportResult.SUCCESS]
        assert len(acknowledged) >= len(batches) * 0.9, "the SDK's retries should carry almost every batch"
        print(
            f"crash test: {KILLS} kills, {len(acknowledged)}/{len(batches)} batches acknowledged, "
            f"{sum(len(batches[i]) for i in acknowledged)} spans checked"
        )
        for i in acknowledged:
            sent = batches[i]
            trace_id = format(sent[0].context.trace_id, "032x")
            body = httpx.get(f"{url}/api/v1/traces/{trace_id}").json()
            got = sorted(s["span_id"] for s in body["spans"])
            assert got == sorted(format(s.context.span_id, "016x") for s in sent), f"batch {i}"
        # a read of the settled records settles what the last server has not yet (its barrier)
        assert httpx.get(f"{url}/api/v1/panels/error_records", params={"start": "now-1h", "end": "now"}).is_success
    finally:
        server.stop()
    counts = count_rows(data_dir, _COUNTS)
    print(f"crash test ({transport}) stored: {counts}")
    stored_batches = counts["calls"]
    # nothing twice: every batch was stored whole and once, in the raw table and every derived one
    assert counts["spans"] == counts["distinct_spans"] == 9 * stored_batches
    assert stored_batches >= len(acknowledged)
    assert counts["requests"] == counts["hour_requests"] == 4 * stored_batches
    assert counts["turns"] == counts["hour_turns"] == 4 * stored_batches
    assert counts["errors"] == 1 * stored_batches
    # settled across the kills: each call's one root cause (its failed LLM request), once
    assert counts["failure_records"] == stored_batches
    assert counts["minute_spans"] == counts["spans"]
    assert counts["usage_input_tokens"] == (100 + 101 + 102 + 103) * stored_batches


def test_an_acknowledged_session_upload_survives_sigkill_exactly_once(tmp_path: Path) -> None:
    """livekit-agents' session upload (usage, chat history, audio) answered 200, then SIGKILL before
    anything could be flushed: after a restart the call has each of them once, and the worker's retry
    of the same upload stores nothing twice."""
    from tests.api.test_livekit_upload import FIXTURE, KEY, SECRET, all_requests, token

    (upload,) = [r for r in all_requests() if r["path"] == "/observability/recordings/v0"]
    body = (FIXTURE / upload["file"]).read_bytes()
    env = {"LIVEKIT_DASHBOARD_LIVEKIT_API_KEY": KEY, "LIVEKIT_DASHBOARD_LIVEKIT_API_SECRET": SECRET}
    data_dir = tmp_path / "data"

    def post(server: Served) -> httpx.Response:
        headers = {"Content-Type": upload["content_type"], "Authorization": f"Bearer {token()}"}
        return httpx.post(f"{server.url}/observability/recordings/v0", content=body, headers=headers, timeout=60)

    server = Served(data_dir, env=env)
    r = post(server)
    assert r.status_code == 200, r.text
    assert set(r.json()["stored"]) == {"usage", "chat_history", "audio"}
    server.proc.kill()  # SIGKILL right after the answer: no flush, no shutdown
    server.proc.wait(30)
    server = Served(data_dir, port=server.port, env=env)
    try:
        assert post(server).status_code == 200  # the worker retries (it never saw the answer, say)
        page = httpx.get(f"{server.url}/api/v1/calls/AJ_cloud_upload", timeout=60).json()
        assert page["transcript_source"] == "chat_history"
        assert page["audio"] is not None
        assert httpx.get(f"{server.url}{page['audio']['url']}", timeout=60).content[:4] == b"OggS"
    finally:
        server.stop()
    counts = count_rows(
        data_dir,
        {
            "usage": "SELECT count() AS n FROM lk_usage_posted",
            "chat": "SELECT count() AS n FROM lk_chat_histories",
            "audio": "SELECT count() AS n FROM lk_recordings",
        },
    )
    assert counts == {"usage": 1, "chat": 1, "audio": 1}
