"""Ingest benchmark: realistic LiveKit spans over OTLP/HTTP (protobuf) and OTLP/gRPC into a real
`livekit-dashboard serve` process; prints a table, then where a span's CPU goes.

    python -m bench.ingest [--spans 200000] [--batch 512] [--clients 4]

Bodies are encoded before the clock starts so the client spends its CPU on sending. "Visible"
means the server's trace lookup returns the batch's trace: a separate reader asks after the 200
(for every 10th batch); the clock runs from the start of the send.

Where the CPU goes: the server's CPU per span split by thread (its Python threads, the engine's
worker threads, the engine's background merges), and each stage a span passes through measured in
this process on the same request bodies with the server's own code: the protobuf parse, the rows for
otel_traces, the write-ahead-log frame, the engine's insert of those rows into a bare copy of
otel_traces and into otel_traces with its materialized views (the engine's ceiling: what storing
the rows costs with no Python at all), settling the calls, and the engine's decode of the same request
bodies (check, parse, rows and insert with the views: what a server with decode_in_engine does with a
large batch of protobuf trace requests).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
import pyarrow as pa
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from livekit_dashboard.demo.catalog import SERVICES
from livekit_dashboard.demo.generator import DemoConfig, call_spans, resource_for, simulate
from livekit_dashboard.ingest.rows import REQUESTS
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.ingest.trace_requests import TraceRequests, prepare_request
from livekit_dashboard.ingest.wal import encode_payload
from livekit_dashboard.query.call_records import CallRecords
from livekit_dashboard.store import apply_migrations, open_engine

# the server's most rows per insert (Batcher.max_batch_rows): the engine's best case
_BLOCK_ROWS = 50_000


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_batches(total_spans: int, batch: int, seed: int) -> list[tuple[bytes, str]]:
    """(body, trace id of its last span) per batch of `batch` LiveKit-mix spans."""
    resources = {s.name: resource_for(s) for s in SERVICES}
    # about 70 spans a call: simulate twice that many calls, so short calls still fill every batch
    calls = simulate(DemoConfig(calls=max(4, total_spans // 35), days=1, seed=seed))
    pending: list[Any] = []
    out: list[tuple[bytes, str]] = []
    for call in calls:
        pending.extend(call_spans(call, resources[call.service.name]))
        while len(pending) >= batch:
            chunk, pending = pending[:batch], pending[batch:]
            out.append((encode_spans(chunk).SerializeToString(), format(chunk[-1].context.trace_id, "032x")))
            if len(out) * batch >= total_spans:
                return out
    return out


def wait_idle(cpu_s: Callable[[], float], limit_s: float = 600) -> None:
    """Until a second passes in which a server (its CPU seconds: cpu_s) used < 5% of a core: start-up
    work such as migrations, settling calls and alert rounds is done."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = cpu_s()
        time.sleep(1)
        if cpu_s() - before < 0.05:
            return
    print("server still busy; measuring anyway", file=sys.stderr)


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port, self.grpc_port = _free_port(), _free_port()
        env = {**os.environ, "LIVEKIT_DASHBOARD_LOG_LEVEL": "warning"}
        cmd = [
            sys.executable,
            "-m",
            "livekit_dashboard",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(self.port),
            "--grpc-port",
            str(self.grpc_port),
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def thread_cpu_s(self) -> dict[str, float]:
        """CPU seconds of the server's live threads by kind: its Python threads (named as the process),
        the engine's background merges, and the engine's other worker threads."""
        clock = os.sysconf("SC_CLK_TCK")
        process = Path(f"/proc/{self.proc.pid}/comm").read_text().strip()
        out: dict[str, float] = {}
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                name = (task / "comm").read_text().strip()
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the thread ended meanwhile
                continue
            kind = "python" if name == process else "merges" if name.startswith("MergeMutate") else "engine"
            out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / clock
        return out

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def run(transport: str, server: Server, batches: list[tuple[bytes, str]], clients: int) -> dict[str, float]:
    latencies: list[float] = []
    visible: list[float] = []
    lock = threading.Lock()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    http = [httpx.Client(timeout=60) for _ in range(clients)]
    refused = [0]

    def send(index: int) -> None:
        body, trace_id = batches[index]
        client = http[index % clients]
        while True:
            t0 = time.perf_counter()
            if transport == "http":
                r = client.post(
                    f"{server.url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}
                )
                ok = r.status_code == 200
            else:
                try:
                    stub.Export(ExportTraceServiceRequest.FromString(body), timeout=60)
                    ok = True
                except grpc.RpcError:
                    ok = False
            t1 = time.perf_counter()
            if ok:
                break
            with lock:
                refused[0] += 1
            time.sleep(0.05)
        with lock:
            latencies.append(t1 - t0)
        if index % 10 == 0:
            checker = threading.Thread(target=check, args=(trace_id, t0))
            checker.start()
            with lock:
                checkers.append(checker)

    def check(trace_id: str, t0: float) -> None:
        """Time until a separate reader sees a batch (its own connection; senders never wait on it)."""
        with httpx.Client(timeout=60) as reader:
            while reader.get(f"{server.url}/api/v1/traces/{trace_id}").status_code != 200:
                time.sleep(0.005)
        with lock:
            visible.append(time.perf_counter() - t0)

    checkers: list[threading.Thread] = []
    threads0 = server.thread_cpu_s()
    cpu0 = server.cpu_s()
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, range(len(batches))))
    for checker in checkers:
        checker.join()
    last_trace = batches[-1][1]
    while httpx.get(f"{server.url}/api/v1/traces/{last_trace}").status_code != 200:
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    channel.close()
    for client in http:
        client.close()
    latencies.sort()
    visible.sort()
    threads1 = server.thread_cpu_s()
    cpu_s = server.cpu_s() - cpu0
    by_thread = {kind: threads1.get(kind, 0.0) - threads0.get(kind, 0.0) for kind in ("python", "engine", "merges")}
    return {
        **{f"cpu_{kind}_s": seconds for kind, seconds in by_thread.items()},
        # threads that ended during the run (their time is in the process's total only)
        "cpu_ended_s": max(0.0, cpu_s - sum(by_thread.values())),
        "seconds": elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "visible_p95_ms": 1000 * visible[min(len(visible) - 1, int(0.95 * len(visible)))] if visible else 0.0,
        "server_cpu_s": cpu_s,
        "refused": refused[0],
    }


def _cpu_s() -> float:
    """This process's CPU seconds, the engine's threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stage_costs(batches: list[tuple[bytes, str]], data_dir: Path) -> tuple[list[tuple[str, float]], dict[str, float]]:
    """(stage, CPU µs per span) for each stage a span passes through in the server, measured here on
    the same request bodies with the server's own code, in order; and the CPU ms of one small insert
    (64 rows, the median of 10) into the bare table and with the views: the fixed cost per insert."""
    spans = sum(
        len(scope.spans)
        for body, _ in batches
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource_spans.scope_spans
    )
    out: list[tuple[str, float]] = []

    def measure(stage: str, work: Callable[[], Any]) -> Any:
        cpu0 = _cpu_s()
        result = work()
        out.append((stage, 1e6 * (_cpu_s() - cpu0) / spans))
        return result

    requests = measure("OTLP protobuf parse", lambda: [ExportTraceServiceRequest.FromString(b) for b, _ in batches])
    prepared = measure("rows for otel_traces (Python)", lambda: [prepare_spans(r) for r in requests])
    tables = [p.tables["otel_traces"] for p in prepared]
    measure("write-ahead-log frame", lambda: [encode_payload({"otel_traces": t}) for t in tables])
    rows = pa.concat_tables(tables)
    blocks = [rows.slice(i, _BLOCK_ROWS) for i in range(0, rows.num_rows, _BLOCK_ROWS)]
    engine = open_engine(f"chdb://{data_dir}")
    try:
        apply_migrations(engine)
        engine.command("CREATE TABLE otel_traces_bare AS otel_traces")  # same layout; no view reads it

        def insert(table: str) -> None:
            for block in blocks:
                engine.insert_arrow(table, block)

        measure(
            f"engine: insert into a bare otel_traces ({_BLOCK_ROWS:,}-row blocks)", lambda: insert("otel_traces_bare")
        )
        measure("engine: insert with the LiveKit views (the ceiling)", lambda: insert("otel_traces"))
        measure("settling the calls (once each)", CallRecords(engine).settle)
        decode = TraceRequests(engine, data_dir / "decode", min_spans=1)
        batches_of = [[body for body, _ in batches[i : i + 97]] for i in range(0, len(batches), 97)]  # ~50,000 spans

        def engine_decode() -> None:
            for i, group in enumerate(batches_of):
                parsed = [prepare_request(ExportTraceServiceRequest.FromString(body), body) for body in group]
                decode.insert(pa.concat_tables([p.tables[REQUESTS] for p in parsed]), token=f"decode-{i}")
            if decode.fallbacks:
                raise SystemExit(f"{decode.fallbacks} batches were decoded in Python: the engine's figure is not one")

        measure(
            "the engine's decode (decode_in_engine): check, parse, rows, insert with the views",
            engine_decode,
        )
        fixed = {}
        for table in ("otel_traces_bare", "otel_traces"):
            costs = []
            for i in range(10):
                cpu0 = _cpu_s()
                engine.insert_arrow(table, rows.slice(i * 64, 64), token=f"fixed-cost-{i}")
                costs.append(1e3 * (_cpu_s() - cpu0))
            fixed[table] = statistics.median(costs)
    finally:
        engine.close()
    return out, fixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=200_000, help="spans per transport")
    parser.add_argument("--batch", type=int, default=512, help="spans per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    args = parser.parse_args()
    print(f"building {args.spans} spans per transport in {args.batch}-span batches ...", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lkd-bench-") as tmp:
        server = Server(Path(tmp) / "data")
        try:
            sent = []
            for seed, transport in enumerate(("http", "grpc")):
                batches = build_batches(args.spans, args.batch, seed + 1)
                sent.append(batches)
                n = len(batches) * args.batch
                print(f"sending {n} spans over {transport} with {args.clients} clients ...", file=sys.stderr)
                result = run(transport, server, batches, args.clients)
                rows.append((transport, n, result))
            rss = server.rss_mb()
        finally:
            server.stop()
        print("measuring each stage in this process on the HTTP run's spans ...", file=sys.stderr)
        stages, fixed = stage_costs(sent[0], Path(tmp) / "stages")
    print(
        "\n| transport | spans | seconds | stored+queryable spans/s | p50 ms | p99 ms | visible p95 ms "
        "| server CPU s | 503s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for transport, n, r in rows:
        print(
            f"| OTLP/{transport.upper()} protobuf | {n} | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | "
            f"{r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['visible_p95_ms']:.0f} | {r['server_cpu_s']:.1f} | "
            f"{int(r['refused'])} |"
        )
    print(
        f"\nserver RSS after the run: {rss:.0f} MB; {args.clients} clients, {args.batch}-span batches, "
        f"{os.cpu_count()} cores"
    )
    print("\nWhere the server's CPU went, µs per span (by thread; the load generator's CPU is not in it):\n")
    print("| transport | Python threads | engine threads | engine merges | threads that ended | server total |")
    print("|---|---:|---:|---:|---:|---:|")
    for transport, n, r in rows:
        parts = [r[f"cpu_{kind}_s"] for kind in ("python", "engine", "merges", "ended")]
        print(
            f"| OTLP/{transport.upper()} | "
            + " | ".join(f"{1e6 * part / n:.1f}" for part in parts)
            + f" | **{1e6 * r['server_cpu_s'] / n:.1f}** |"
        )
    print("\nEach stage on the same spans, in this process with the server's code, µs CPU per span:\n")
    print("| stage | µs per span |")
    print("|---|---:|")
    for stage, cost in stages:
        print(f"| {stage} | {cost:.1f} |")
    ceiling = dict(stages)["engine: insert with the LiveKit views (the ceiling)"]
    server_us = 1e6 * rows[0][2]["server_cpu_s"] / rows[0][1]
    print(
        f"\nThe server spent {server_us:.1f} µs per span over HTTP; storing the same rows with no Python at all "
        f"costs the engine {ceiling:.1f} ({ceiling / server_us:.0%} of it). Target: 25 µs per span."
    )
    print(
        f"\nOne small insert (64 rows) costs the engine {fixed['otel_traces']:.0f} ms of CPU with the views "
        f"({fixed['otel_traces_bare']:.0f} ms into the bare table): a fixed cost per insert, whatever its size, "
        "which the writer's linger (flush_interval_ms) shares among the requests of one insert."
    )


if __name__ == "__main__":
    main()
