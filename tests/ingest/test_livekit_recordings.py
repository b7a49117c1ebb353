"""Replay OTLP bodies recorded from a real livekit-agents 1.8.9 AgentSession (scripts/record_livekit.py)
over HTTP protobuf, HTTP JSON and gRPC: everything is stored, the trace is whole, values are exact."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from livekit_dashboard.server import DashboardServer

FIXTURES = Path(__file__).parent.parent / "fixtures" / "livekit"
SUMMARY = json.loads((FIXTURES / "summary.json").read_text())
BODIES = {
    "traces": (FIXTURES / "traces.pb").read_bytes(),
    "logs": (FIXTURES / "logs.pb").read_bytes(),
    "metrics": (FIXTURES / "metrics.pb").read_bytes(),
}
MESSAGES: dict[str, Any] = {
    "traces": ExportTraceServiceRequest,
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}
_ID_KEYS = {"traceId", "spanId", "parentSpanId"}


def _otlp_json(signal: str) -> bytes:
    """The OTLP/JSON encoding of a recorded body: protobuf JSON mapping with ids in hex."""

    def hexify(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: base64.b64decode(v).hex() if k in _ID_KEYS and v else hexify(v) for k, v in node.items()}
        if isinstance(node, list):
            return [hexify(v) for v in node]
        return node

    message = MESSAGES[signal].FromString(BODIES[signal])
    return json.dumps(hexify(json_format.MessageToDict(message))).encode()


def _send(server: DashboardServer, transport: str) -> None:
    if transport == "grpc":
        channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        stubs: dict[str, Any] = {
            "traces": trace_service_pb2_grpc.TraceServiceStub(channel),
            "logs": logs_service_pb2_grpc.LogsServiceStub(channel),
            "metrics": metrics_service_pb2_grpc.MetricsServiceStub(channel),
        }
        for signal, stub in stubs.items():
            response = stub.Export(MESSAGES[signal].FromString(BODIES[signal]), timeout=30)
            assert not response.HasField("partial_success")
        channel.close()
        return
    for signal in BODIES:
        if transport == "protobuf":
            body, ctype = BODIES[signal], "application/x-protobuf"
        else:
            body, ctype = _otlp_json(signal), "application/json"
        r = httpx.post(f"{server.base_url}/v1/{signal}", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("transport", ["protobuf", "json", "grpc"])
def test_recorded_session_is_stored_whole(server: DashboardServer, transport: str) -> None:
    assert SUMMARY["livekit_agents_version"].startswith("1.8.")
    _send(server, transport)
    q = server.engine.query
    names = sorted(r["n"] for r in q("SELECT SpanName AS n FROM otel_traces"))
    assert names == SUMMARY["spans"]
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()
    assert stats["traces"] == {"received": len(names), "stored": len(names), "rejected": 0}

    (trace_id,) = [r["t"] for r in q("SELECT DISTINCT TraceId AS t FROM otel_traces")]
    spans = httpx.get(f"{server.base_url}/api/v1/traces/{trace_id}").json()["spans"]
    ids = {s["span_id"] for s in spans}
    roots = [s for s in spans if not s["parent_span_id"]]
    assert [r["name"] for r in roots] == ["agent_session"]
    assert all(s["parent_span_id"] in ids for s in spans if s["parent_span_id"])
    assert {s["attributes"]["user.email"] for s in spans} == {"alice@example.com"}
    assert roots[0]["attributes"]["lk.job_id"] == "AJ_recorded"
    assert roots[0]["resource_attributes"]["service.name"] == "recorded-agent"

    usage = q(
        "SELECT count() AS n, sum(toUInt64(SpanAttributes['gen_ai.usage.input_tokens'])) AS input, "
        "sum(toUInt64(SpanAttributes['gen_ai.usage.output_tokens'])) AS output, "
        "sum(toUInt64(SpanAttributes['gen_ai.usage.cache_read.input_tokens'])) AS cached "
        "FROM otel_traces WHERE SpanName = 'llm_request'"
    )[0]
    n = SUMMARY["llm_requests_ok"]
    assert usage == {
        "n": n,
        "input": n * SUMMARY["prompt_tokens_per_request"],
        "output": n * SUMMARY["completion_tokens_per_request"],
        "cached": n * SUMMARY["cached_tokens_per_request"],
    }
    failed = q(
        "SELECT SpanId AS s, ParentSpanId AS p, SpanAttributes['error.type'] AS e, StatusCode AS c FROM otel_traces "
        "WHERE StatusCode = 'Error'"
    )
    assert [(f["e"], f["c"]) for f in failed] == [("429", "Error")]

    (log,) = httpx.get(f"{server.base_url}/api/v1/logs", params={"trace_id": trace_id}).json()["logs"]
    assert log["severity_text"] == "WARN"
    assert log["body"].startswith("failed to generate LLM completion")
    # the framework logs the failed attempt from inside llm_request, the failed run's parent
    assert log["span_id"] == failed[0]["p"]
    assert [s["name"] for s in spans if s["span_id"] == log["span_id"]] == ["llm_request"]

    counter = q(
        "SELECT Value, Attributes['model_provider'] AS p FROM otel_metrics_sum "
        "WHERE MetricName = 'lk.agents.usage.llm_input_tokens'"
    )
    assert counter == [{"Value": float(n * SUMMARY["prompt_tokens_per_request"]), "p": "api.openai.com"}]
    histograms = {r["m"] for r in q("SELECT DISTINCT MetricName AS m FROM otel_metrics_histogram")}
    assert {
        "gen_ai.client.token.usage",
        "gen_ai.client.operation.duration",
        "gen_ai.invoke_agent.duration",
    } <= histograms
