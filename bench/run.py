"""Every benchmark, one command: ingest (HTTP and gRPC), the OTLP decode in the engine against Python's
(a design measured, not the server's path), a light load (the server's CPU at 400 spans/s,
with and without a dashboard reading), overload (24/96/288 connections, with wrk),
panels over a freshly built dataset, the whole dashboard in headless Chromium over that dataset (and
with the API answered from memory: the browser's own share), the per-request floor (empty-range
panels, /healthz, trace by id, JSON's share), and the footprint (disk per span, server memory,
whole-dashboard time) of that dataset. Prints each table.

    python -m bench.run [--spans 1000000] [--ingest-spans 200000] [--data-dir DIR]

With --data-dir the dataset is kept (and reused when it already holds spans); otherwise it is built
in a temporary directory and deleted afterwards. Building 1M spans takes about 2 minutes on 2 cores,
10M about 20.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def step(title: str, *args: str) -> None:
    print(f"\n## {title}\n", flush=True)
    subprocess.run([sys.executable, "-m", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans in the panel dataset")
    parser.add_argument("--ingest-spans", type=int, default=200_000, help="spans sent per transport")
    parser.add_argument("--data-dir", type=Path, help="keep (or reuse) the panel dataset here")
    args = parser.parse_args()
    step("Ingest", "bench.ingest", "--spans", str(args.ingest_spans))
    step("The OTLP decode in the engine", "bench.engine_decode")
    step("Light load", "bench.lightload", "--with-reader")
    if shutil.which("wrk"):
        step("Overload", "bench.overload")
    else:
        print("\n## Overload\n\nskipped: needs Debian's wrk (apt-get install wrk)", flush=True)
    with tempfile.TemporaryDirectory(prefix="lkd-bench-") as tmp:
        data_dir = str(args.data_dir or Path(tmp) / "data")
        step("Panels", "bench.panels", "--spans", str(args.spans), "--data-dir", data_dir)
        if not Path("/usr/bin/chromium").exists():
            print("\n## Browser\n\nskipped: needs Debian's chromium (apt-get install chromium)", flush=True)
        elif importlib.util.find_spec("playwright") is None:
            print('\n## Browser\n\nskipped: needs playwright (pip install -e ".[test]")', flush=True)
        else:
            step("Browser", "bench.browser", "--data-dir", data_dir)
        step("Per-request floor", "bench.floor", "--data-dir", data_dir)
        step("Footprint", "bench.footprint", "--data-dir", data_dir)


if __name__ == "__main__":
    main()
