"""Crash durability: stream OTLP from the real SDK exporter into a `serve` process, SIGKILL it at
random moments, restart it on the same data directory, and check that every span whose request was
answered 200 is stored, and read back exactly once."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.e2e.test_cli import Served
from tests.helpers import make_spans

pytestmark = pytest.mark.slow
KILLS = 3


def test_acknowledged_spans_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = Served(data_dir)
    port, url = server.port, server.url
    batches = [make_spans(service="crash-agent", n_turns=4) for _ in range(120)]
    results: dict[int, SpanExportResult] = {}

    def stream() -> None:
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces", timeout=60)
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
        server = Served(data_dir, port=port)
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
    finally:
        server.stop()
