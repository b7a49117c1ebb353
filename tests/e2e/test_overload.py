"""Overload: many exporters at once against a small queue. The server refuses with 503 and
Retry-After instead of buffering without bound, and the OpenTelemetry SDK's own retries then deliver
every span: nothing acknowledged is lost, nothing is stored twice."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.ingest import build_batches
from bench.overload import _LUA
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_cli import Served, count_rows
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


def test_more_connections_do_not_collapse_throughput_health_or_memory(tmp_path: Path) -> None:
    """wrk (a C load generator, so the client costs little) at 24 and then 288 connections of polite
    OTLP clients against a real `serve`: refusals are cheap, so acknowledged throughput holds up,
    liveness and a dashboard read keep answering, memory is handed back after the burst, and every
    acknowledged request is stored exactly once."""
    body = build_batches(256, 256, seed=3)[0][0]
    (tmp_path / "body.pb").write_bytes(body)
    script = tmp_path / "post.lua"
    data_dir = tmp_path / "data"
    server = Served(data_dir)
    idle_mb = _proc_rss_mb(server.proc.pid)
    results: dict[int, dict[str, float]] = {}
    health_ms: list[float] = []

    def stored_spans() -> int:
        return int(httpx.get(f"{server.url}/api/v1/ingest/stats", timeout=60).json()["traces"]["stored"])

    def drained() -> None:
        for _ in range(300):
            if httpx.get(f"{server.url}/api/v1/ingest/stats", timeout=60).json()["queue_depth"] == 0:
                return
            time.sleep(0.2)

    def measure(run: int, connections: int) -> dict[str, float]:
        script.write_text(_LUA % {"body": tmp_path / "body.pb", "polite": "true", "run": run})
        before = stored_spans()
        done = threading.Event()

        def probe() -> None:
            while not done.wait(0.3):
                t0 = time.perf_counter()
                assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
                health_ms.append((time.perf_counter() - t0) * 1000)

        prober = threading.Thread(target=probe)
        prober.start()
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", "-d8s", "--timeout", "30s", "-s", str(script), server.url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        t0 = time.perf_counter()
        read = httpx.get(f"{server.url}/api/v1/panels/services_languages", timeout=30)
        read_ms = (time.perf_counter() - t0) * 1000
        done.set()
        prober.join()
        assert read.status_code == 200
        drained()
        wrk = json.loads(out.strip().splitlines()[-1])
        return {
            # acknowledged by the server (requests still in flight when wrk stopped included)
            "stored_spans": stored_spans() - before,
            "refused": wrk["non2xx"],
            "read_ms": read_ms,
        }

    try:
        # 8 s each on a shared 2-core host: a neighbour's burst can halve one run (seen once in CI: 61k
        # at 288 connections against 129k at 24; a rerun 164k against 134k), so a pair that looks
        # collapsed is measured once more; a real collapse shows in both pairs
        for attempt in range(2):
            results = {c: measure(2 * attempt + i, c) for i, c in enumerate((24, 288))}
            if results[288]["stored_spans"] >= 0.5 * results[24]["stored_spans"]:
                break
        # memory is handed back over a few seconds after the queue drains (the last inserts, merges and
        # a settle round finish; seen 940 MB at 2 s, 813 at 4 s, 795 from 8 s on): wait until it settles
        after_mb = _settled_rss_mb(server.proc.pid)
        # the engine's cache of decompressed blocks (read_cache_mb) keeps what settling and the reads
        # decompressed: a bounded cache by design, not memory of the burst
        cache_mb = _engine_cache_mb(server.url)
        acknowledged = stored_spans()
    finally:
        server.stop()
    print(
        f"overload: idle {idle_mb:.0f} MB, after {after_mb:.0f} MB (read cache {cache_mb:.0f} MB), {results}, "
        f"healthz max {max(health_ms):.0f} ms"
    )
    low, high = results[24], results[288]
    assert high["refused"] > 0, "288 connections must overload the server"
    assert high["stored_spans"] >= 0.5 * low["stored_spans"], "throughput collapsed as connections grew"
    # (the suite runs beside another test process on 2 cores: bounds that tell "answers" from "hangs")
    assert sorted(health_ms)[len(health_ms) // 2] < 2000, "liveness must answer under load"
    assert max(health_ms) < 10_000
    assert high["read_ms"] < 5000
    assert after_mb - cache_mb - idle_mb < 400, "memory of the burst must be handed back"
    stored = count_rows(data_dir, {"spans": "SELECT count() AS n FROM otel_traces"})["spans"]
    assert stored == acknowledged, "every acknowledged request once, nothing else"


def _settled_rss_mb(pid: int, timeout_s: float = 30.0) -> float:
    """The process's RSS once it stops falling: under 10 MB lower over the last 3 s, or after timeout_s."""
    samples = [_proc_rss_mb(pid)]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(1)
        samples.append(_proc_rss_mb(pid))
        if len(samples) > 3 and samples[-4] - samples[-1] < 10:
            break
    return samples[-1]


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _engine_cache_mb(url: str) -> float:
    scraped = httpx.get(f"{url}/metrics", timeout=30).text
    (held,) = (
        s.value
        for family in text_string_to_metric_families(scraped)
        for s in family.samples
        if s.name == "livekit_dashboard_engine_memory_bytes" and s.labels["kind"] == "uncompressed_cache"
    )
    return float(held) / 2**20
