"""bench.floor: every panel over an empty range, with the engine's own time (its counters) beside the time
the call took, which is what shows whether a 5 ms floor is the engine's or the request's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# its own process: an embedded store is one data directory per process
SCRIPT = """
import json, sys
from pathlib import Path
from bench.floor import in_process
from livekit_dashboard.store import apply_migrations, open_engine
store = open_engine(f"chdb://{sys.argv[1]}")
apply_migrations(store)
store.close()
empty_ms, empty_engine, _, traces = in_process(Path(sys.argv[1]), 2)
print(json.dumps({"empty_ms": empty_ms, "engine": empty_engine, "traces": traces}))
"""


def test_the_floor_reports_the_engines_own_time_of_each_empty_panel(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "store")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(run.stdout.splitlines()[-1])
    assert out["traces"] == []
    assert set(out["engine"]) == set(out["empty_ms"])
    assert len(out["engine"]) >= 20
    for name, engine in out["engine"].items():
        planning = (
            engine["QueryAnalysisMicroseconds"]
            + engine["QueryPlanBuildMicroseconds"]
            + engine["QueryPlanOptimizeMicroseconds"]
        )
        # the engine's counters moved for the panel's own query (its planning counters count a subquery's
        # analysis inside the outer one's too, so they are not compared with its time)
        assert engine["QueryTimeMicroseconds"] > 0, (name, engine)
        assert planning > 0, (name, engine)
