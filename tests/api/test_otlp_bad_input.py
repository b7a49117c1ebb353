"""Bad input gets a precise 4xx, the server stays up, and data accepted earlier stays stored."""

from __future__ import annotations

import gzip
import json
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from livekit_dashboard.server import DashboardServer
from tests.helpers import make_spans

PB = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def loaded(make_server: Any) -> tuple[DashboardServer, int]:
    """A server with a 64 KiB body limit and one valid trace already stored."""
    server = make_server(max_body_bytes=64 * 1024)
    body = encode_spans(make_spans()).SerializeToString()
    assert httpx.post(f"{server.base_url}/v1/traces", content=body, headers=PB).status_code == 200
    return server, _count(server)


def _count(server: DashboardServer) -> int:
    return int(server.engine.query("SELECT count() AS n FROM otel_traces")[0]["n"])


def _assert_intact(server: DashboardServer, before: int) -> None:
    assert _count(server) == before
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_malformed_protobuf_is_400_with_status_message(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    r = httpx.post(f"{server.base_url}/v1/traces", content=b"\x0a\xff\xff\xff\xff\x0fgarbage", headers=PB)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/x-protobuf"
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 3
    assert status.message.startswith("malformed protobuf ExportTraceServiceRequest")
    _assert_intact(server, before)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "the top level must be an object"),
        (b'{"resourceSpans": 5}', "malformed OTLP/JSON ExportTraceServiceRequest"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}',
            "malformed OTLP/JSON",
        ),
        (b"\xff\xfe\x00", "malformed JSON"),
    ],
)
def test_malformed_json_is_400(loaded: tuple[DashboardServer, int], body: bytes, expected: str) -> None:
    server, before = loaded
    r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers=JSON)
    assert r.status_code == 400
    assert expected in r.json()["message"]
    _assert_intact(server, before)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_unsupported_content_type_is_415(loaded: tuple[DashboardServer, int], content_type: str) -> None:
    server, before = loaded
    headers = {"Content-Type": content_type} if content_type else {}
    r = httpx.post(f"{server.base_url}/v1/logs", content=b"hello", headers=headers)
    assert r.status_code == 415
    assert "unsupported content type" in r.json()["message"]
    _assert_intact(server, before)


def test_unsupported_content_encoding_is_415(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    r = httpx.post(f"{server.base_url}/v1/traces", content=b"x", headers={**PB, "Content-Encoding": "br"})
    assert r.status_code == 415
    assert "unsupported content encoding 'br'" in status_pb2.Status.FromString(r.content).message
    _assert_intact(server, before)


def test_body_over_limit_is_413(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    r = httpx.post(f"{server.base_url}/v1/traces", content=b"\x00" * (65 * 1024), headers=JSON)
    assert r.status_code == 413
    assert "exceeds the limit of 65536 bytes" in r.json()["message"]
    _assert_intact(server, before)


def test_gzip_bomb_is_413(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    bomb = gzip.compress(b"\x00" * (50 * 1024 * 1024))
    assert len(bomb) < 64 * 1024
    r = httpx.post(f"{server.base_url}/v1/traces", content=bomb, headers={**PB, "Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "decompressed body exceeds the limit" in status_pb2.Status.FromString(r.content).message
    _assert_intact(server, before)


@pytest.mark.parametrize(
    "payload", [b"not gzip at all", gzip.compress(b"{}" * 1000, mtime=0)[:-12]], ids=["not-gzip", "truncated-gzip"]
)
def test_corrupt_gzip_is_400(loaded: tuple[DashboardServer, int], payload: bytes) -> None:
    server, before = loaded
    r = httpx.post(f"{server.base_url}/v1/traces", content=payload, headers={**JSON, "Content-Encoding": "gzip"})
    assert r.status_code == 400
    assert "not valid gzip" in r.json()["message"]
    _assert_intact(server, before)


def test_partially_invalid_protobuf_stores_valid_spans(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    spans = make_spans(n_turns=1)
    request = encode_spans(spans)
    bad = request.resource_spans[0].scope_spans[0].spans[0]
    bad.trace_id = b"\x01\x02\x03"
    r = httpx.post(f"{server.base_url}/v1/traces", content=request.SerializeToString(), headers=PB)
    assert r.status_code == 200
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == 1
    assert "invalid trace_id (3 bytes, want 16" in partial.error_message
    assert _count(server) == before + len(spans) - 1
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()["traces"]
    assert stats["rejected"] == 1
    assert stats["stored"] == before + len(spans) - 1


def test_partially_invalid_json_reports_partial_success(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    doc = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "livekit-agents"},
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "llm_request",
                                "kind": 1,
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000001000000000",
                                "unknownField": True,
                                "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "42"}}],
                            },
                            {"traceId": "abcdef", "spanId": "eee19b7ec3c1b175", "name": "bad"},
                            {"traceId": "zz-not-hex", "spanId": "eee19b7ec3c1b176", "name": "bad2"},
                        ],
                    }
                ],
            }
        ]
    }
    r = httpx.post(f"{server.base_url}/v1/traces", content=json.dumps(doc), headers=JSON)
    assert r.status_code == 200
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "invalid trace_id" in partial["errorMessage"]
    trace = httpx.get(f"{server.base_url}/api/v1/traces/5b8efff798038103d269b633813fc60c").json()
    (span,) = trace["spans"]
    assert span["attributes"] == {"gen_ai.usage.input_tokens": "42"}
    assert (span["kind"], span["service"], span["duration_ns"]) == (
        "Internal",
        "json-svc",
        1_000_000_000,
    )
    assert _count(server) == before + 1


def test_unknown_trace_is_404(loaded: tuple[DashboardServer, int]) -> None:
    server, _ = loaded
    r = httpx.get(f"{server.base_url}/api/v1/traces/{'ab' * 16}")
    assert r.status_code == 404
    assert r.json()["detail"] == f"trace {'ab' * 16} not found"
    assert httpx.get(f"{server.base_url}/api/v1/traces/{'0' * 32}").status_code == 400


def test_a_browser_on_a_wrong_path_gets_a_page_and_a_client_json(loaded: tuple[DashboardServer, int]) -> None:
    server, _ = loaded
    page = httpx.get(f"{server.base_url}/nonexistent<i>", headers={"Accept": "text/html,*/*"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "No page at <code>/nonexistent&lt;i&gt;</code>" in page.text
    assert '<a href="/">Open the dashboard</a>' in page.text
    client = httpx.get(f"{server.base_url}/nonexistent")
    assert client.status_code == 404
    assert client.json()["detail"].startswith("no such route: GET /nonexistent")
    api = httpx.get(f"{server.base_url}/api/v1/nothing", headers={"Accept": "text/html"})
    assert api.json()["detail"].startswith("no such route")


def test_empty_request_is_ok(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    for path in ("/v1/traces", "/v1/logs", "/v1/metrics"):
        assert httpx.post(f"{server.base_url}{path}", content=b"", headers=PB).status_code == 200
        assert httpx.post(f"{server.base_url}{path}", content=b"{}", headers=JSON).json() == {}
    _assert_intact(server, before)


def _len_field(number: int, payload: bytes) -> bytes:
    size, varint = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        varint.append(byte | (0x80 if size else 0))
        if not size:
            return bytes([number << 3 | 2]) + bytes(varint) + payload


def _hand_span(name: bytes, attribute: bytes = b"") -> bytes:
    """A span written field by field (the SDK refuses to build these)."""
    return (
        _len_field(1, b"\x07" * 16)
        + _len_field(2, b"\x08" * 8)
        + _len_field(5, name)
        + (attribute and _len_field(9, attribute))
    )


def _deep_attribute(depth: int) -> bytes:
    value = _len_field(1, b"leaf")  # AnyValue.string_value
    for _ in range(depth):  # AnyValue.array_value -> ArrayValue.values -> AnyValue
        value = _len_field(5, _len_field(1, value))
    return _len_field(1, b"deep") + _len_field(2, value)


def test_a_bad_span_does_not_take_its_good_neighbours_with_it(loaded: tuple[DashboardServer, int]) -> None:
    """One span with invalid UTF-8 and one nested past protobuf's limit: the rest of the request is
    stored, the two are reported as partial success, with why."""
    server, before = loaded
    good = make_spans(n_turns=1)
    body = encode_spans(good).SerializeToString()
    bad_spans = _hand_span(b"bad \xff\xfe name")
    deep_span = _hand_span(b"deep", _deep_attribute(60))
    ok_span = _hand_span(b"fine")
    # concatenated messages merge: another ResourceSpans with three spans in one scope
    body += _len_field(1, _len_field(2, _len_field(2, bad_spans) + _len_field(2, deep_span) + _len_field(2, ok_span)))
    r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers=PB)
    assert r.status_code == 200
    partial = ExportTraceServiceResponse.FromString(r.content).partial_success
    assert partial.rejected_spans == 2
    assert "span dropped: invalid UTF-8" in partial.error_message
    assert _count(server) == before + len(good) + 1
    names = server.engine.query("SELECT SpanName AS n FROM otel_traces WHERE TraceId = {t:String}", {"t": "07" * 16})
    assert names == [{"n": "fine"}]


def test_an_attribute_nested_30_levels_is_kept(loaded: tuple[DashboardServer, int]) -> None:
    server, before = loaded
    body = _len_field(1, _len_field(2, _len_field(2, _hand_span(b"nested", _deep_attribute(30)))))
    r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers=PB)
    assert r.status_code == 200
    assert not ExportTraceServiceResponse.FromString(r.content).HasField("partial_success")
    assert _count(server) == before + 1


@pytest.mark.parametrize("path", ["/v1/traces", "/v1/usage"])
def test_json_nested_without_end_is_400_not_500(loaded: tuple[DashboardServer, int], path: str) -> None:
    server, before = loaded
    r = httpx.post(f"{server.base_url}{path}", content=b"[" * 50_000, headers=JSON)  # under the 64 KiB limit
    assert r.status_code == 400
    assert "nested too deeply" in r.text
    _assert_intact(server, before)


@pytest.mark.parametrize("signal", ["trace.v1.TraceService", "logs.v1.LogsService", "metrics.v1.MetricsService"])
def test_malformed_grpc_message_is_invalid_argument(loaded: tuple[DashboardServer, int], signal: str) -> None:
    server, before = loaded
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    export = channel.unary_unary(f"/opentelemetry.proto.collector.{signal}/Export")  # raw bytes both ways
    with pytest.raises(grpc.RpcError) as err:
        export(b"\x0a\xff\xff\xff\xff\x0f", timeout=10)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed protobuf" in (err.value.details() or "")
    channel.close()
    _assert_intact(server, before)
