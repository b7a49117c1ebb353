"""Footprint benchmark: disk bytes per span, and the `serve` process's memory idle and under
dashboard load, plus the time to load the whole dashboard over HTTP (every panel at once, as the
web UI asks for them). Prints a table.

    python bench/footprint.py --data-dir DIR [--seconds 20] [--range 30d]

DIR is a dataset that `python -m bench.panels --data-dir DIR` built (it is reused, never modified).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.ingest import Server
from livekit_dashboard.query.panels import PANELS
from livekit_dashboard.store import open_engine

DISK_SQL = """
SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes, sum(data_uncompressed_bytes) AS raw
FROM system.parts
WHERE active AND database = currentDatabase()
GROUP BY table
ORDER BY bytes DESC
"""


def disk_usage(data_dir: Path) -> tuple[int, list[dict[str, int]]]:
    engine = open_engine(f"chdb://{data_dir.resolve()}")
    try:
        spans = int(engine.query("SELECT count() AS n FROM otel_traces")[0]["n"])
        return spans, engine.query(DISK_SQL)
    finally:
        engine.close()


def dashboard_load(url: str, span: str, clients: int) -> float:
    """Seconds to fetch every panel concurrently (one dashboard refresh)."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        codes = list(
            pool.map(
                lambda name: (
                    httpx.get(f"{url}/api/v1/panels/{name}", params={"start": f"now-{span}"}, timeout=120).status_code
                ),
                PANELS,
            )
        )
    if any(code != 200 for code in codes):
        raise RuntimeError(f"a panel failed: {codes}")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to apply dashboard load")
    parser.add_argument("--range", default="30d", help="dashboard time range (now-<range>)")
    parser.add_argument("--clients", type=int, default=6, help="concurrent panel requests per refresh")
    args = parser.parse_args()

    spans, tables = disk_usage(args.data_dir)
    if not spans:
        sys.exit(f"no spans in {args.data_dir}: build a dataset with python -m bench.panels --data-dir first")
    by_table = {row["table"]: row for row in tables}
    trace_tables = [t for t in by_table if t.startswith(("otel_traces", "lk_"))]
    print(f"measuring {spans:,} spans in {args.data_dir} ...", file=sys.stderr)

    server = Server(args.data_dir)
    try:
        time.sleep(3)
        idle_mb = server.rss_mb()
        peak = [idle_mb]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.1):
                peak.append(server.rss_mb())

        sampler = threading.Thread(target=sample)
        sampler.start()
        loads = []
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline or len(loads) < 5:
            loads.append(dashboard_load(server.url, args.range, args.clients))
        stop.set()
        sampler.join()
        after_mb = server.rss_mb()
    finally:
        server.stop()

    print(f"\n{spans:,} spans; disk from system.parts (compressed, on disk)\n")
    print("| table | rows | bytes on disk | bytes per span |")
    print("|---|---:|---:|---:|")
    for row in tables:
        print(f"| {row['table']} | {row['rows']:,} | {row['bytes']:,} | {row['bytes'] / spans:.1f} |")
    raw = by_table["otel_traces"]["bytes"]
    derived = sum(by_table[t]["bytes"] for t in trace_tables)
    print(f"| **spans, raw table** | | {raw:,} | **{raw / spans:.1f}** |")
    print(f"| **spans, raw + derived tables and rollups** | | {derived:,} | **{derived / spans:.1f}** |")
    print("\n| memory / dashboard | value |")
    print("|---|---:|")
    print(f"| serve RSS idle, after start | {idle_mb:,.0f} MB |")
    load = f"{len(loads)} refreshes, {args.clients} at once"
    print(f"| serve RSS peak under dashboard load ({load}) | {max(peak):,.0f} MB |")
    print(f"| serve RSS after the load | {after_mb:,.0f} MB |")
    whole_ms = 1000 * statistics.median(loads)
    print(f"| whole dashboard ({len(PANELS)} panels, now-{args.range}) median | {whole_ms:,.0f} ms |")


if __name__ == "__main__":
    main()
