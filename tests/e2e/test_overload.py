"""Overload: many exporters at once against a small queue. The server refuses with 503 and
Retry-After instead of buffering without bound, and the OpenTelemetry SDK's own retries then deliver
every span: nothing acknowledged is lost, nothing is stored twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.helpers import make_spans

pytestmark = pytest.mark.slow


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def test_overload_is_refused_then_delivered_by_sdk_retries(make_server: Any) -> None:
    # a queue of 80 rows against 12 exporters sending 17-19 spans at once: about 2.7x what fits
    server = make_server(queue_max_rows=80, batch_max_rows=80, flush_interval_ms=150, queue_wait_ms=300)
    batches = [make_spans(service=f"svc-{i % 5}", n_turns=8 + i % 2) for i in range(60)]

    def export(chunk: list[Any]) -> list[SpanExportResult]:
        exporter = OTLPSpanExporter(endpoint=f"{server.base_url}/v1/traces", timeout=60)
        try:
            return [exporter.export(spans) for spans in chunk]
        finally:
            exporter.shutdown()

    depth_samples: list[int] = []
    rss_samples: list[int] = [_rss_mb()]
    with ThreadPoolExecutor(12) as pool:
        futures = [pool.submit(export, batches[i::12]) for i in range(12)]
        while not all(f.done() for f in futures):
            depth_samples.append(httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()["queue_depth"])
            rss_samples.append(_rss_mb())
        results = [r for f in futures for r in f.result()]
    assert results == [SpanExportResult.SUCCESS] * len(batches)
    stats = httpx.get(f"{server.base_url}/api/v1/ingest/stats").json()
    assert stats["refused_requests"] > 0, "the queue never filled: the test did not overload anything"
    assert max(depth_samples) <= 80  # bounded by queue_max_rows
    # the server runs in this process: its memory must not grow with the refused load
    assert max(rss_samples) - rss_samples[0] < 300, (rss_samples[0], max(rss_samples))
    sent = {format(s.context.span_id, "016x") for spans in batches for s in spans}
    rows = server.engine.query("SELECT SpanId AS s, count() AS n FROM otel_traces GROUP BY s")
    assert {r["s"] for r in rows} == sent
    assert all(r["n"] == 1 for r in rows)
    assert stats["traces"]["stored"] == len(sent)
    print(
        f"overload test: {len(batches)} requests, {stats['refused_requests']} refusals (503), "
        f"peak queue {max(depth_samples)} rows, RSS {rss_samples[0]} -> {max(rss_samples)} MB, "
        f"{len(sent)} spans stored once each"
    )
