"""Panel benchmark: every dashboard panel over a realistic LiveKit dataset, 30-day and 24-hour ranges.

    python -m bench.panels [--spans 1000000] [--days 30] [--runs 5] [--data-dir DIR]

Builds the dataset once (demo calls spread over --days, through the real OTLP encoders, our decoder
and the materialized views), then times each panel (median of --runs, after one warm-up run) and a
lookup of 20 traces spread over the dataset, then the call explorer and call pages (bench/calls.py).
With --data-dir an existing dataset is reused.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from bench.calls import bench_calls, settle_all
from livekit_dashboard.demo.catalog import SERVICES
from livekit_dashboard.demo.generator import DemoConfig, call_logs, call_spans, resource_for, simulate
from livekit_dashboard.ingest.logs import prepare_logs
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.query.lookup import get_trace
from livekit_dashboard.query.panels import PANELS, PanelQuery, run_panel
from livekit_dashboard.store import Engine, apply_migrations, open_engine

SPANS_PER_CALL = 72  # the demo mix averages about this many spans per call


def build(engine: Engine, spans: int, days: float) -> tuple[int, str]:
    resources = {s.name: resource_for(s) for s in SERVICES}
    calls = simulate(DemoConfig(calls=max(1, spans // SPANS_PER_CALL), days=days, seed=1, end_ns=time.time_ns()))
    pending_spans, pending_logs, total, trace = [], [], 0, ""
    started = time.monotonic()

    def flush() -> None:
        nonlocal pending_spans, pending_logs
        if pending_spans:
            engine.insert_arrow("otel_traces", prepare_spans(encode_spans(pending_spans)).tables["otel_traces"])
        if pending_logs:
            engine.insert_arrow("otel_logs", prepare_logs(encode_logs(pending_logs)).tables["otel_logs"])
        pending_spans, pending_logs = [], []

    for i, call in enumerate(calls):
        resource = resources[call.service.name]
        pending_spans.extend(call_spans(call, resource))
        pending_logs.extend(call_logs(call, resource))
        if len(pending_spans) >= 100_000:
            total += len(pending_spans)
            flush()
            rate = total / (time.monotonic() - started)
            print(f"  {total:,} spans loaded ({rate:,.0f}/s), call {i + 1}/{len(calls)}", file=sys.stderr)
        trace = format(call.trace_id, "032x")
    total += len(pending_spans)
    flush()
    engine.command("OPTIMIZE TABLE otel_traces FINAL")
    return total, trace


def timed(fn: object, runs: int) -> float:
    samples = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        if i:  # the first run warms caches
            samples.append(time.perf_counter() - t0)
    return 1000 * statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lkd-panels-") as tmp:
        engine = open_engine(f"chdb://{(args.data_dir or Path(tmp)).resolve()}")
        apply_migrations(engine)
        existing = engine.query("SELECT count() AS n, any(TraceId) AS t FROM otel_traces")[0]
        if existing["n"]:
            total, trace = existing["n"], existing["t"]
            print(f"reusing {total:,} spans in {args.data_dir}", file=sys.stderr)
        else:
            print(f"building ~{args.spans:,} spans over {args.days} days ...", file=sys.stderr)
            t0 = time.monotonic()
            total, trace = build(engine, args.spans, args.days)
            print(f"  built {total:,} spans in {time.monotonic() - t0:.0f} s", file=sys.stderr)
        # what the server does in the background: settle the calls the writes queued
        settled, settle_s = settle_all(engine)
        print(f"  settled {settled:,} calls in {settle_s:.1f} s", file=sys.stderr)
        now = time.time_ns()
        ranges = {"30 d": now - 30 * 86400 * 10**9, "24 h": now - 86400 * 10**9}
        results: dict[str, dict[str, float]] = {name: {} for name in PANELS}
        for label, start in ranges.items():
            step = 21600 if label == "30 d" else 600
            query = PanelQuery(start_ns=start, end_ns=now, step_s=step, limit=50)
            for name in PANELS:
                results[name][label] = timed(lambda n=name, q=query: run_panel(engine, n, q), args.runs)
        # trace lookups: 20 traces spread over the dataset, each looked up once (cold-ish), median
        sample = [
            r["t"]
            for r in engine.query(
                "SELECT TraceId AS t FROM otel_traces_trace_id_ts ORDER BY cityHash64(TraceId) LIMIT 20"
            )
        ]
        lookups = []
        for trace_id in sample or [trace]:
            t0 = time.perf_counter()
            if get_trace(engine, trace_id) is None:
                raise RuntimeError(f"trace {trace_id} not found")
            lookups.append(1000 * (time.perf_counter() - t0))
        trace_ms = statistics.median(lookups)
        call_results = bench_calls(engine, now, args.runs)
        engine.close()
    print(f"\n{total:,} spans over {args.days:g} days; median of {args.runs} runs (ms)\n")
    print("| panel | 30 d | 24 h |")
    print("|---|---:|---:|")
    for name, by_range in results.items():
        print(f"| {name} | {by_range['30 d']:.0f} | {by_range['24 h']:.0f} |")
    print(
        f"| **all panels (sum)** | {sum(r['30 d'] for r in results.values()):.0f} | "
        f"{sum(r['24 h'] for r in results.values()):.0f} |"
    )
    print(f"| trace by id (median of {len(lookups)} traces across the range) | {trace_ms:.0f} | |")
    print(f"\nCalls: {settled:,} settled in {settle_s:.1f} s; median of {args.runs} runs (ms)\n")
    print("| calls | ms |")
    print("|---|---:|")
    for what, ms in call_results:
        print(f"| {what} | {ms:.0f} |")


if __name__ == "__main__":
    main()
