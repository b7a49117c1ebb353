"""Round trip through the real OTLP exporters (HTTP protobuf, HTTP JSON, gRPC): what the SDK sent
is what GET /api/v1/traces/{id} returns, field by field, and the stats count it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JsonSpanExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from livekit_dashboard.server import DashboardServer
from tests.helpers import make_spans, spans_by_id


def _expected_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value), separators=(",", ":"))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _expected_attrs(attrs: Any) -> dict[str, str]:
    return {k: _expected_str(v) for k, v in (attrs or {}).items()}


def assert_trace_matches(base_url: str, sent: Sequence[ReadableSpan]) -> None:
    trace_id = format(sent[0].context.trace_id, "032x")
    response = httpx.get(f"{base_url}/api/v1/traces/{trace_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["trace_id"] == trace_id
    got = {s["span_id"]: s for s in body["spans"]}
    expected = spans_by_id(sent)
    assert set(got) == set(expected)
    for span_id, span in expected.items():
        row = got[span_id]
        assert row["trace_id"] == trace_id
        assert row["name"] == span.name
        assert row["kind"] == "Internal"
        assert row["parent_span_id"] == (format(span.parent.span_id, "016x") if span.parent else "")
        assert span.start_time is not None
        assert span.end_time is not None
        assert row["start_time_unix_nano"] == span.start_time
        assert row["end_time_unix_nano"] == span.end_time
        assert row["duration_ns"] == span.end_time - span.start_time
        assert row["service"] == span.resource.attributes["service.name"]
        assert row["scope_name"] == "livekit-agents"
        assert row["scope_version"] == "1.8.9"
        assert row["status_code"] == {"UNSET": "Unset", "OK": "Ok", "ERROR": "Error"}[span.status.status_code.name]
        assert row["status_message"] == (span.status.description or "")
        assert row["attributes"] == _expected_attrs(span.attributes)
        assert row["resource_attributes"] == _expected_attrs(span.resource.attributes)
        assert [e["name"] for e in row["events"]] == [e.name for e in span.events]
        for got_event, sent_event in zip(row["events"], span.events, strict=True):
            assert got_event["time_unix_nano"] == sent_event.timestamp
            assert got_event["attributes"] == _expected_attrs(sent_event.attributes)
        assert row["links"] == []


def _stats(base_url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{base_url}/api/v1/ingest/stats").json())


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_http_protobuf_exporter_round_trip(server: DashboardServer, compression: Compression) -> None:
    spans = make_spans()
    exporter = HttpSpanExporter(endpoint=f"{server.base_url}/v1/traces", compression=compression)
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert_trace_matches(server.base_url, spans)
    stats = _stats(server.base_url)
    assert stats["traces"] == {"received": len(spans), "stored": len(spans), "rejected": 0}
    assert stats["queue_depth"] == 0


def test_http_json_exporter_round_trip(server: DashboardServer) -> None:
    spans = make_spans(service="json-agent")
    exporter = JsonSpanExporter(endpoint=f"{server.base_url}/v1/traces")
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert_trace_matches(server.base_url, spans)
    assert _stats(server.base_url)["traces"]["stored"] == len(spans)


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_grpc_exporter_round_trip(server: DashboardServer, compression: str | None) -> None:
    import grpc

    spans = make_spans(service="grpc-agent", n_turns=3)
    exporter = GrpcSpanExporter(
        endpoint=f"127.0.0.1:{server.grpc_port}",
        insecure=True,
        compression=grpc.Compression.Gzip if compression else None,
    )
    assert exporter.export(spans) is SpanExportResult.SUCCESS
    exporter.shutdown()
    assert_trace_matches(server.base_url, spans)
    assert _stats(server.base_url)["traces"] == {"received": len(spans), "stored": len(spans), "rejected": 0}


def test_many_exports_share_inserts(make_server: Any) -> None:
    """Group commit: concurrent requests are written by fewer inserts than requests."""
    from concurrent.futures import ThreadPoolExecutor

    server = make_server(flush_interval_ms=200)
    batches = [make_spans(service=f"svc-{i}") for i in range(12)]

    def send(spans: list[ReadableSpan]) -> SpanExportResult:
        return HttpSpanExporter(endpoint=f"{server.base_url}/v1/traces").export(spans)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(send, batches))
    assert all(r is SpanExportResult.SUCCESS for r in results)
    total = sum(len(b) for b in batches)
    assert server.engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] == total
    assert server.batcher.inserts < len(batches)
