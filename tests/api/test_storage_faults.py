"""Storage faults (a full or failing disk, injected at the storage edge): acknowledged rows wait in
the write-ahead log and are written once storage recovers; ingest pushes back with 503 / UNAVAILABLE
when the queue is full or the log itself cannot be written; /readyz says so; all recover on their own."""

from __future__ import annotations

import errno
import time
from typing import Any

import grpc
import httpx
import pytest
from google.rpc import status_pb2
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

        def insert_arrow(table: str, data: Any, **kwargs: Any) -> None:
            if self.on:
                raise StorageError("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space")
            real_insert(table, data, **kwargs)

        def command(sql: str, params: Any = None) -> None:
            if self.on and sql.lstrip().upper().startswith("INSERT"):
                raise StorageError("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space")
            real_command(sql, params)

        monkeypatch.setattr(engine, "insert_arrow", insert_arrow)
        monkeypatch.setattr(engine, "command", command)


def _post(base: str, spans: Any) -> httpx.Response:
    return httpx.post(f"{base}/v1/traces", content=encode_spans(spans).SerializeToString(), headers=PB, timeout=30)


def test_failing_storage_keeps_acknowledged_rows_and_pushes_back(
    make_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # room for about two requests: while storage fails, acknowledged rows wait in the write-ahead
    # log, the queue fills, and then ingest answers 503 / UNAVAILABLE
    server = make_server(queue_max_rows=10, queue_wait_ms=0)
    disk = FailingDisk(server.storage, monkeypatch)
    base = server.base_url
    first = make_spans()
    assert _post(base, first).is_success
    assert httpx.get(f"{base}/api/v1/ingest/stats").json()["queue_depth"] == 0  # written

    disk.on = True
    accepted = [first]
    responses = []
    for _ in range(4):
        spans = make_spans()
        r = _post(base, spans)
        responses.append(r.status_code)
        if r.status_code == 200:
            accepted.append(spans)
        else:
            assert r.status_code == 503
            assert 1 <= int(r.headers["Retry-After"]) <= 30
    assert 503 in responses, responses
    assert 200 in responses, responses
    usage = httpx.post(f"{base}/v1/usage", json={"call_id": "c", "started_at": "2026-11-01T00:00:00Z"})
    assert usage.status_code == 503
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    with pytest.raises(grpc.RpcError) as err:
        trace_service_pb2_grpc.TraceServiceStub(channel).Export(encode_spans(make_spans()), timeout=10)
    assert err.value.code() is grpc.StatusCode.UNAVAILABLE
    assert httpx.get(f"{base}/healthz").status_code == 200  # alive: restarting would not help
    health = httpx.get(f"{base}/readyz")
    assert health.status_code == 503
    assert "not enough space" in health.json()["error"]
    stats = httpx.get(f"{base}/api/v1/ingest/stats").json()
    assert stats["queue_depth"] == sum(len(s) for s in accepted[1:])  # waiting, not dropped

    disk.on = False  # the writer retries on its own (backoff up to 5 s)
    for _ in range(200):
        if httpx.get(f"{base}/api/v1/ingest/stats").json()["queue_depth"] == 0:
            break
        time.sleep(0.05)
    assert httpx.get(f"{base}/readyz").status_code == 200
    stored = server.engine.query("SELECT TraceId AS t, count() AS n FROM otel_traces GROUP BY t")
    assert {row["t"]: row["n"] for row in stored} == {
        format(s[0].context.trace_id, "032x"): len(s) for s in accepted
    }  # every acknowledged span once, nothing from the refused requests
    assert _post(base, make_spans()).is_success
    trace_service_pb2_grpc.TraceServiceStub(channel).Export(encode_spans(make_spans()), timeout=10)
    channel.close()


def test_a_failing_write_ahead_log_answers_503_and_stores_nothing(
    make_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server()
    base = server.base_url

    def full_disk(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("livekit_dashboard.ingest.wal.os.write", full_disk)
    r = _post(base, make_spans())
    assert r.status_code == 503
    assert "write-ahead log" in status_pb2.Status.FromString(r.content).message
    assert "No space left" in status_pb2.Status.FromString(r.content).message
    monkeypatch.undo()
    kept = make_spans()
    assert _post(base, kept).is_success
    rows = server.engine.query("SELECT DISTINCT TraceId AS t FROM otel_traces")
    assert rows == [{"t": format(kept[0].context.trace_id, "032x")}]
