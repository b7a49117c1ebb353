"""bench.engine_decode: the engine, parsing OTLP protobuf itself, stores what the server's Python decode
stores, in otel_traces and in every table the materialized views fill."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_engine_decode_stores_what_the_python_decode_stores() -> None:
    # its own process: an embedded store is one data directory per process
    run = subprocess.run(
        [sys.executable, "-m", "bench.engine_decode", "--spans", "3000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "both stores hold the same rows in every table" in run.stdout, run.stdout + run.stderr
    stages = [line for line in run.stdout.splitlines() if line.startswith("| ") and line.endswith(" |")][1:]
    assert len(stages) == 3
    assert all(float(line.rsplit("|", 2)[1]) > 0 for line in stages)
