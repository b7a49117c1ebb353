"""Storage faults (a full or failing disk, injected at the storage edge): ingest answers 503 /
UNAVAILABLE, never 200; /healthz says so; both recover on their own when the fault clears."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from livekit_dashboard.store import StorageError
from tests.helpers import make_spans

PB = {"Content-Type": "application/x-protobuf"}


class FailingDisk:
    """Makes the engine's writes fail like a full disk while `on` is set."""

    def __init__(self, engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        real_insert, real_command = engine.insert_arrow, engine.command

        def insert_arrow(table: str, data: Any) -> None:
            if self.on:
                raise StorageError("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space")
            real_insert(table, data)

        def command(sql: str, params: Any = None) -> None:
            if self.on and sql.lstrip().upper().startswith("INSERT"):
                raise StorageError("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space")
            real_command(sql, params)

        monkeypatch.setattr(engine, "insert_arrow", insert_arrow)
        monkeypatch.setattr(engine, "command", command)


def test_write_failures_answer_503_and_recover(make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server = make_server()
    disk = FailingDisk(server.engine, monkeypatch)
    base = server.base_url
    first = make_spans()
    assert httpx.post(f"{base}/v1/traces", content=encode_spans(first).SerializeToString(), headers=PB).is_success

    disk.on = True
    lost = make_spans()
    r = httpx.post(f"{base}/v1/traces", content=encode_spans(lost).SerializeToString(), headers=PB)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    usage = httpx.post(f"{base}/v1/usage", json={"call_id": "c", "started_at": "2026-11-01T00:00:00Z"})
    assert usage.status_code == 503
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    with pytest.raises(grpc.RpcError) as err:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(encode_spans(make_spans()), timeout=10)
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
    health = httpx.get(f"{base}/healthz")
    assert health.status_code == 503
    assert "not enough space" in health.json()["error"]
    stats = httpx.get(f"{base}/api/v1/ingest/stats").json()
    assert stats["traces"]["stored"] == len(first)
    assert stats["queue_depth"] == 0  # a failed batch is answered, not left queued

    disk.on = False
    assert httpx.get(f"{base}/healthz").status_code == 200
    retried = httpx.post(f"{base}/v1/traces", content=encode_spans(lost).SerializeToString(), headers=PB)
    assert retried.status_code == 200
    stored = server.engine.query("SELECT count() AS n FROM otel_traces")[0]["n"]
    assert stored == len(first) + len(lost)  # the refused request left nothing behind
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(encode_spans(make_spans()), timeout=10)
    channel.close()
