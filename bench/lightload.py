"""Light-load benchmark: the server's CPU while a few calls' worth of spans trickle in, the load most
deployments see most of the time (a handful of concurrent calls, each agent exporting small batches).

    python -m bench.lightload [--rate 10] [--batch 40] [--seconds 30] [--with-reader]

Starts `livekit-dashboard serve` on an empty data directory, waits until it is idle, measures its idle
CPU for 5 s, then sends --rate OTLP/HTTP requests per second of --batch LiveKit-mix spans each, evenly
spaced, for --seconds. Prints the server's CPU during the load (share of one core, above idle), its CPU
per span, and the split by thread (Python, the engine's workers, its merges). With --with-reader a
client also reads a panel every 5 s, as an open dashboard on auto-refresh does.

At a light load a server's CPU is not proportional to spans: every insert and every settle round has
a fixed cost (planning each materialized view's and each settle statement's SQL, a part per table),
so it depends on how often the writer inserts and the calls are settled.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.ingest import Server, build_batches, wait_idle

_PANEL = "turns_per_conversation"  # reads the settled call records: its read settles what it may see


def measure(rate: float, batch: int, seconds: float, with_reader: bool) -> dict[str, float]:
    batches = build_batches(int(rate * batch * seconds), batch, seed=11)
    with tempfile.TemporaryDirectory(prefix="lkd-lightload-") as tmp:
        server = Server(Path(tmp) / "data")
        try:
            wait_idle(server.cpu_s)
            idle0 = server.cpu_s()
            time.sleep(5)
            idle = (server.cpu_s() - idle0) / 5
            threads0, cpu0, start = server.thread_cpu_s(), server.cpu_s(), time.monotonic()
            done = threading.Event()
            reads: list[float] = []

            def reader() -> None:
                with httpx.Client(timeout=60) as client:
                    while not done.wait(5):
                        began = time.monotonic()
                        client.get(f"{server.url}/api/v1/panels/{_PANEL}", params={"start": "now-1h", "end": "now"})
                        reads.append(time.monotonic() - began)

            watcher = threading.Thread(target=reader, daemon=True)
            if with_reader:
                watcher.start()
            with httpx.Client(timeout=60) as client:
                for i, (body, _) in enumerate(batches):
                    pause = start + i / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    headers = {"Content-Type": "application/x-protobuf"}
                    client.post(f"{server.url}/v1/traces", content=body, headers=headers).raise_for_status()
            done.set()
            if with_reader:
                watcher.join()
            time.sleep(3)  # the last linger and settle round
            elapsed = time.monotonic() - start
            cpu = server.cpu_s() - cpu0
            threads1 = server.thread_cpu_s()
            spans = len(batches) * batch
            return {
                "spans": spans,
                "elapsed_s": elapsed,
                "idle_core": idle,
                "core": cpu / elapsed,
                "us_per_span": 1e6 * (cpu - idle * elapsed) / spans,
                "reads": len(reads),
                "read_ms": 1e3 * sorted(reads)[len(reads) // 2] if reads else 0.0,
                **{f"{kind}_s": threads1[kind] - threads0.get(kind, 0.0) for kind in threads1},
            }
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    parser.add_argument("--batch", type=int, default=40, help="spans per request")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the load lasts")
    parser.add_argument("--with-reader", action="store_true", help="also read a panel every 5 s")
    args = parser.parse_args()
    rows = [("no reader", measure(args.rate, args.batch, args.seconds, with_reader=False))]
    if args.with_reader:
        rows.append(("a panel read every 5 s", measure(args.rate, args.batch, args.seconds, with_reader=True)))
    print(
        f"\n{args.rate:g} requests/s of {args.batch} spans ({args.rate * args.batch:,.0f} spans/s) "
        f"over OTLP/HTTP for {args.seconds:g} s:\n"
    )
    print(
        "| load | server CPU, share of a core | idle | µs per span above idle | Python s | engine s | merges s |",
        end="",
    )
    print(" panel read ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, r in rows:
        read = f"{r['read_ms']:.0f} ({r['reads']:.0f} reads)" if r["reads"] else "none"
        print(
            f"| {label} | **{100 * r['core']:.0f}%** | {100 * r['idle_core']:.1f}% | {r['us_per_span']:,.0f} | "
            f"{r.get('python_s', 0):.1f} | {r.get('engine_s', 0):.1f} | {r.get('merges_s', 0):.1f} | {read} |"
        )


if __name__ == "__main__":
    main()
