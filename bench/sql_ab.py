"""A panel's SQL at another git revision against this checkout's, on the same data, alternating in one
process: wall and CPU per run (medians), and whether the rows are the same. For a change to a panel's
SQL (or its fragments), measured the way docs/benchmarks.md asks: in one run, as a ratio.

    python -m bench.sql_ab --data-dir DIR [--rev HEAD~1] [--runs 5] PANEL [PANEL ...]

DIR is a dataset `bench.panels` built (any migrations this checkout adds are applied, and what they
touch settled, first). Each panel runs over the last 30 days and the last 24 hours, without filters.
The other revision's SQL is read with `git show`, so run it from a git checkout; both versions run
against this checkout's schema, so a panel whose old SQL reads a table the new schema dropped fails.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from livekit_dashboard.query.call_records import CallRecords
from livekit_dashboard.query.panels import PANELS, PanelQuery, run_panel
from livekit_dashboard.store import apply_migrations, open_engine

_SQL_DIR = "src/livekit_dashboard/query/sql"
_INCLUDE = re.compile(r"\{\{(\w+)\}\}")
DAY_NS = 86400 * 10**9


def sql_at(rev: str, name: str, repo: Path | None = None) -> str:
    """A query file at `rev` of the git checkout `repo` (default: the current directory's), with its
    fragments (also at `rev`) put in place."""

    def show(path: str) -> str:
        command = ["git", "show", f"{rev}:{path}"]
        return subprocess.run(command, check=True, capture_output=True, text=True, cwd=repo).stdout

    def fragment(frag: str) -> str:
        lines = show(f"{_SQL_DIR}/fragments/{frag}.sql").splitlines()
        while lines and lines[0].startswith("--"):
            lines.pop(0)
        return _INCLUDE.sub(lambda m: fragment(m.group(1)), "\n".join(lines).strip())

    return _INCLUDE.sub(lambda m: fragment(m.group(1)), show(f"{_SQL_DIR}/{name}.sql"))


def _rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def plain(v: Any) -> Any:
        return round(v, 9) if isinstance(v, float) else v

    return sorted(tuple(sorted((k, plain(v)) for k, v in row.items())) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("panels", nargs="+", choices=sorted(PANELS), metavar="PANEL")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rev", default="HEAD~1", help="the other revision (default: HEAD~1)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = open_engine(f"chdb://{args.data_dir}", "otel")
    if apply_migrations(engine):
        CallRecords(engine).settle()
    now = time.time_ns()
    print(f"| panel | range | {args.rev}: ms (CPU ms) | this checkout: ms (CPU ms) | rows |")
    print("|---|---|---:|---:|---|")
    for name in args.panels:
        old_sql = sql_at(args.rev, name)
        for label, span in (("30 d", 30 * DAY_NS), ("24 h", DAY_NS)):
            query = PanelQuery(start_ns=now - span, end_ns=now, step_s=3600)
            values = query.values()
            params = {key: values[key] for key in PANELS[name].params}
            same = _rows(engine.query(old_sql, params)) == _rows(run_panel(engine, name, query))
            timings: dict[str, tuple[list[float], list[float]]] = {"old": ([], []), "new": ([], [])}
            for _ in range(args.runs):
                for which in ("old", "new"):
                    wall, cpu = time.perf_counter(), time.process_time()
                    if which == "old":
                        engine.query(old_sql, params)
                    else:
                        run_panel(engine, name, query)
                    timings[which][0].append(1000 * (time.perf_counter() - wall))
                    timings[which][1].append(1000 * (time.process_time() - cpu))
            old, new = (
                f"{statistics.median(timings[w][0]):.0f} ({statistics.median(timings[w][1]):.0f})"
                for w in ("old", "new")
            )
            print(f"| `{name}` | {label} | {old} | {new} | {'same' if same else '**different**'} |", flush=True)
    engine.close()


if __name__ == "__main__":
    main()
