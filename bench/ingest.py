"""Ingest benchmark: realistic LiveKit spans over OTLP/HTTP (protobuf) and OTLP/gRPC into a real
`livekit-dashboard serve` process; prints a table.

    python -m bench.ingest [--spans 200000] [--batch 512] [--clients 4]

Bodies are encoded before the clock starts so the client spends its CPU on sending. "Visible"
means the server's trace lookup returns the batch's trace: a separate reader asks after the 200
(for every 10th batch); the clock runs from the start of the send.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from livekit_dashboard.demo.catalog import SERVICES
from livekit_dashboard.demo.generator import DemoConfig, call_spans, resource_for, simulate


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
    return {
        "seconds": elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "visible_p95_ms": 1000 * visible[min(len(visible) - 1, int(0.95 * len(visible)))] if visible else 0.0,
        "server_cpu_s": server.cpu_s() - cpu0,
        "refused": refused[0],
    }


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
            for seed, transport in enumerate(("http", "grpc")):
                batches = build_batches(args.spans, args.batch, seed + 1)
                n = len(batches) * args.batch
                print(f"sending {n} spans over {transport} with {args.clients} clients ...", file=sys.stderr)
                result = run(transport, server, batches, args.clients)
                rows.append((transport, n, result))
            rss = server.rss_mb()
        finally:
            server.stop()
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


if __name__ == "__main__":
    main()
