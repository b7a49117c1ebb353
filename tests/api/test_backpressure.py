"""Backpressure: with a tiny queue a flood gets 503 / UNAVAILABLE with a retry hint, and every
request answered 200 is stored (acknowledged means durable)."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from tests.helpers import make_spans


def _requests(n: int) -> list[tuple[str, bytes, int]]:
    out = []
    for _ in range(n):
        spans = make_spans(n_turns=3)
        out.append((format(spans[0].context.trace_id, "032x"), encode_spans(spans).SerializeToString(), len(spans)))
    return out


def _stored_traces(server: Any) -> dict[str, int]:
    rows = server.engine.query("SELECT TraceId AS t, count() AS n FROM otel_traces GROUP BY t")
    return {row["t"]: row["n"] for row in rows}


def test_http_flood_gets_503_and_every_200_is_stored(make_server: Any) -> None:
    server = make_server(queue_max_rows=30, batch_max_rows=30, flush_interval_ms=300, queue_wait_ms=0)
    requests = _requests(40)
    barrier = threading.Barrier(20)

    def send(item: tuple[str, bytes, int]) -> tuple[str, int, httpx.Response]:
        trace_id, body, n = item
        with httpx.Client() as client:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
            r = client.post(
                f"{server.base_url}/v1/traces",
                content=body,
                headers={"Content-Type": "application/x-protobuf"},
                timeout=30,
            )
        return trace_id, n, r

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(send, requests))
    ok = [(t, n) for t, n, r in results if r.status_code == 200]
    refused = [r for _, _, r in results if r.status_code == 503]
    assert len(ok) + len(refused) == len(results)
    assert refused, "a 30-row queue must refuse some of 40 concurrent 10-span requests"
    assert ok
    for r in refused:
        assert 1 <= int(r.headers["Retry-After"]) <= 30
        assert "queue is full" in status_pb2.Status.FromString(r.content).message
    stored = _stored_traces(server)
    assert stored == dict(ok)
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()
    assert stats["traces"]["stored"] == sum(n for _, n in ok)
    assert stats["queue_depth"] == 0


def test_grpc_flood_gets_unavailable_with_retry_info(make_server: Any) -> None:
    server = make_server(queue_max_rows=30, batch_max_rows=30, flush_interval_ms=300, queue_wait_ms=0)
    requests = _requests(30)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    def send(item: tuple[str, bytes, int]) -> tuple[str, int, grpc.StatusCode, Any]:
        trace_id, body, n = item
        try:
            stub.Export(ExportTraceServiceRequest.FromString(body), timeout=30)
        except grpc.RpcError as err:
            return trace_id, n, err.code(), err.trailing_metadata()
        return trace_id, n, grpc.StatusCode.OK, None

    with ThreadPoolExecutor(15) as pool:
        results = list(pool.map(send, requests))
    channel.close()
    codes = {code for _, _, code, _ in results}
    assert codes <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}
    unavailable = [meta for _, _, code, meta in results if code is grpc.StatusCode.UNAVAILABLE]
    assert unavailable
    details = dict(unavailable[0])["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert 1 <= retry.retry_delay.seconds <= 30
    ok = {t: n for t, n, code, _ in results if code is grpc.StatusCode.OK}
    assert ok
    assert _stored_traces(server) == ok


def test_a_request_finding_the_queue_full_waits_for_room(make_server: Any, monkeypatch: Any) -> None:
    """With storage stalled the queue fills; the next request is not refused at once but waits
    (queue_wait_ms) and is acknowledged as soon as the writer makes room."""
    server = make_server(queue_max_rows=14, queue_wait_ms=5000)
    stalled = threading.Event()
    release = threading.Event()
    real_insert = server.storage.insert_arrow

    def slow_insert(table: str, data: Any, **kwargs: Any) -> None:
        stalled.set()
        release.wait(10)
        real_insert(table, data, **kwargs)

    monkeypatch.setattr(server.storage, "insert_arrow", slow_insert)
    requests = _requests(3)  # 7 spans each: two fill the 14-row queue
    url = f"{server.base_url}/v1/traces"
    headers = {"Content-Type": "application/x-protobuf"}
    assert httpx.post(url, content=requests[0][1], headers=headers).status_code == 200
    assert stalled.wait(5)
    assert httpx.post(url, content=requests[1][1], headers=headers).status_code == 200
    answers: list[int] = []
    third = threading.Thread(
        target=lambda: answers.append(httpx.post(url, content=requests[2][1], headers=headers, timeout=30).status_code)
    )
    third.start()
    third.join(0.5)
    assert third.is_alive(), "the third request must wait for room, not be answered"
    release.set()
    third.join(10)
    assert answers == [200]
    assert _stored_traces(server) == {t: n for t, _, n in requests}
