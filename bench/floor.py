"""The per-request floor (issue #18): what a request costs when it has almost nothing to do, and what
share of a real answer goes to JSON. On a dataset (bench.panels builds one):

- in-process: every panel over an empty range (a day before any data), and every panel's 30-day answer
  against the time FastAPI takes to turn it into JSON (validated and dumped by pydantic, the path of a
  route that returns `dict[str, Any]`);
- over HTTP, against `livekit-dashboard serve` on the dataset once it is idle: `/healthz`, every panel
  over the empty range, a trace id that is not stored (404), and 20 stored traces spread over the
  dataset, each read once and then again. Server CPU per request from /proc.

    python -m bench.floor --data-dir DIR [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from pydantic import TypeAdapter

from bench.ingest import Server, wait_idle
from livekit_dashboard.domain.timerange import choose_step_s
from livekit_dashboard.query import PANELS, PanelQuery, run_panel
from livekit_dashboard.store import Engine, open_engine

EMPTY = ("2001-01-01T00:00:00Z", "2001-01-02T00:00:00Z")  # a day before any dataset
EMPTY_NS = (978307200 * 10**9, 978393600 * 10**9)
# the engine's own time, from its counters: a query's whole time, and its SQL analysed, planned, optimised
_COUNTERS = (
    "QueryTimeMicroseconds",
    "QueryAnalysisMicroseconds",
    "QueryPlanBuildMicroseconds",
    "QueryPlanOptimizeMicroseconds",
)
_EVENTS = "SELECT event, value FROM system.events WHERE event IN ({})".format(", ".join(f"'{c}'" for c in _COUNTERS))
# what FastAPI builds for a route annotated `-> dict[str, Any]` (the panel routes): validate, then dump
ANSWER = TypeAdapter(dict[str, Any])


def encode_json(answer: dict[str, Any]) -> bytes:
    return ANSWER.dump_json(ANSWER.validate_python(answer))


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median of runs, after one that warms caches."""
    fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(1000 * (time.perf_counter() - t0))
    return statistics.median(samples)


def engine_ms(engine: Engine, fn: Callable[[], object], runs: int) -> dict[str, float]:
    """The engine's own time per run of fn (ms: its whole query, and analysing, building and optimising
    the plan), from its cumulative counters (system.events) less what reading them costs."""

    def counters() -> dict[str, int]:
        return {str(r["event"]): int(r["value"]) for r in engine.query(_EVENTS)}

    first, second = counters(), counters()  # the second counts the first read's own query
    reading = {k: second.get(k, 0) - first.get(k, 0) for k in _COUNTERS}
    before = counters()
    for _ in range(runs):
        fn()
    after = counters()
    return {k: (after.get(k, 0) - before.get(k, 0) - reading[k]) / runs / 1000 for k in _COUNTERS}


def in_process(
    data_dir: Path, runs: int
) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, tuple[float, float, int]], list[str]]:
    """Empty-range panel times, and the engine's own share of them; per panel its 30-day time, its JSON
    time and size; 20 trace ids."""
    engine = open_engine(f"chdb://{data_dir.resolve()}")
    try:
        empty = PanelQuery(start_ns=EMPTY_NS[0], end_ns=EMPTY_NS[1], step_s=choose_step_s(EMPTY_NS[1] - EMPTY_NS[0]))
        empty_ms = {name: median_ms(partial(run_panel, engine, name, empty), runs) for name in PANELS}
        empty_engine = {name: engine_ms(engine, partial(run_panel, engine, name, empty), runs) for name in PANELS}
        now = time.time_ns()
        month = PanelQuery(start_ns=now - 30 * 86400 * 10**9, end_ns=now, step_s=21600, limit=50)
        json_ms: dict[str, tuple[float, float, int]] = {}
        for name in PANELS:
            answer = {"panel": name, "rows": run_panel(engine, name, month)}
            panel = median_ms(partial(run_panel, engine, name, month), runs)
            encode = median_ms(partial(encode_json, answer), runs)
            json_ms[name] = (panel, encode, len(ANSWER.dump_json(answer)))
        traces = [
            str(r["t"])
            for r in engine.query(
                "SELECT TraceId AS t FROM otel_traces_trace_id_ts ORDER BY cityHash64(TraceId) LIMIT 20"
            )
        ]
    finally:
        engine.close()
    return empty_ms, empty_engine, json_ms, traces


def over_http(server: Server, runs: int, traces: list[str]) -> dict[str, tuple[float, float]]:
    """(median ms, server CPU ms per request) by what was asked."""
    out: dict[str, tuple[float, float]] = {}
    with httpx.Client(base_url=server.url, timeout=60) as client:

        def get(path: str, params: dict[str, str] | None = None, status: int = 200) -> None:
            r = client.get(path, params=params)
            if r.status_code != status:
                raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")

        def measure(label: str, calls: Sequence[Callable[[], None]], warm: bool = True) -> None:
            if warm:
                calls[0]()
            cpu0, samples = server.cpu_s(), []
            for call in calls:
                t0 = time.perf_counter()
                call()
                samples.append(1000 * (time.perf_counter() - t0))
            out[label] = (statistics.median(samples), 1000 * (server.cpu_s() - cpu0) / len(calls))

        measure("/healthz", [lambda: get("/healthz")] * 200)
        empty = {"start": EMPTY[0], "end": EMPTY[1]}
        for name in PANELS:
            measure(f"empty:{name}", [partial(get, f"/api/v1/panels/{name}", empty)] * runs)
        missing = [os.urandom(16).hex() for _ in range(20)]
        measure("missing trace", [partial(get, f"/api/v1/traces/{t}", status=404) for t in missing])
        reads = [partial(get, f"/api/v1/traces/{t}") for t in traces]
        measure("trace by id, read once", reads, warm=False)
        measure("trace by id, read again", reads, warm=False)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True, help="a dataset (bench.panels builds one)")
    parser.add_argument("--runs", type=int, default=5, help="runs per panel (median)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    empty_ms, empty_engine, json_ms, traces = in_process(args.data_dir, args.runs)
    if not traces:
        sys.exit(f"no traces in {args.data_dir}: build a dataset with python -m bench.panels --data-dir first")
    server = Server(args.data_dir)
    try:
        wait_idle(server.cpu_s)
        http = over_http(server, args.runs, traces)
    finally:
        server.stop()
    report(empty_ms, empty_engine, json_ms, http)


def report(
    empty_ms: dict[str, float],
    empty_engine: dict[str, dict[str, float]],
    json_ms: dict[str, tuple[float, float, int]],
    http: dict[str, tuple[float, float]],
) -> None:
    print("\nEvery panel over an empty range (a day before the data), median ms; the engine's own time (mean)\n")
    print("| panel | in-process | of it the engine | of that, planning | over HTTP | server CPU ms/request |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in PANELS:
        ms, cpu = http[f"empty:{name}"]
        e = empty_engine[name]
        plan = e["QueryAnalysisMicroseconds"] + e["QueryPlanBuildMicroseconds"] + e["QueryPlanOptimizeMicroseconds"]
        print(
            f"| {name} | {empty_ms[name]:.1f} | {e['QueryTimeMicroseconds']:.1f} | {plan:.1f} | {ms:.1f} | {cpu:.1f} |"
        )
    over = sorted(http[f"empty:{n}"][0] for n in PANELS)
    engine_over = sum(e["QueryTimeMicroseconds"] > 5 for e in empty_engine.values())
    print(
        f"\n{len(over)} panels over HTTP: fastest {over[0]:.1f} ms, median {statistics.median(over):.1f}, "
        f"slowest {over[-1]:.1f}; {sum(ms <= 5 for ms in over)} within 5 ms. "
        f"The engine alone takes more than 5 ms for {engine_over} of them."
    )
    print("\nJSON: each panel's 30-day answer, turned into JSON as the route does (median ms)\n")
    print("| panel | panel ms | JSON ms | share | answer KB |")
    print("|---|---:|---:|---:|---:|")
    for name, (panel, encode, size) in sorted(json_ms.items(), key=lambda kv: -kv[1][1] / kv[1][0]):
        print(f"| {name} | {panel:.1f} | {encode:.2f} | {100 * encode / panel:.1f}% | {size / 1024:.1f} |")
    print("\nOver HTTP, median ms\n")
    print("| request | target | median ms | server CPU ms/request |")
    print("|---|---|---:|---:|")
    targets = {"/healthz": "≤ 2", "trace by id, read once": "≤ 20", "trace by id, read again": "≤ 20"}
    for label in ("/healthz", "missing trace", "trace by id, read once", "trace by id, read again"):
        ms, cpu = http[label]
        print(f"| {label} | {targets.get(label, '')} | {ms:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
