"""A block recorded in a deduplication log whose part never landed (a process killed between the two)
is dropped from the log before chDB opens the directory, so the write-ahead log's replay stores it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from livekit_dashboard.store.dedup_log import dangling_blocks, repair_dedup_logs

# one block id per partition (as ClickHouse names them), the parts it named
A, B = "20261201_1_2", "20261202_1_2"


def _table(root: Path, name: str, log_lines: list[str], parts: list[str]) -> Path:
    table = root / "store" / name[:3] / name
    (table / "deduplication_logs").mkdir(parents=True)
    (table / "deduplication_logs" / "deduplication_log_1.txt").write_text("".join(f"{x}\n" for x in log_lines))
    for part in parts:
        (table / part).mkdir()
    (table / "format_version.txt").write_text("1")
    return table


def test_only_blocks_no_part_covers_are_dangling(tmp_path: Path) -> None:
    table = _table(
        tmp_path,
        "aaa-1",
        [
            f"1\t20261201_1_1_0\t{A}",  # merged since into 20261201_1_3_1
            f"1\t20261202_2_2_0\t{B}",  # mutated since: 20261202_2_2_0_5
            "1\t20261202_10_10_0\tgone",  # never renamed into place
            "1\t20261202_6_6_0\tdropped",  # its part dropped, and the log says so
            "2\t20261202_6_6_0\tdropped",
            "1\t20261203_7_7_0\tother-partition",  # 20261202_1_9_2 holds block 7 of another partition
        ],
        ["20261201_1_3_1", "20261202_2_2_0_5", "20261202_1_3_1", "20261202_1_9_2", "tmp_insert_20261203_7_7_0"],
    )
    (table / "detached" / "20261203_7_7_0").mkdir(parents=True)  # a detached part is not stored
    found = {(d.part, d.block_id) for d in dangling_blocks(table)}
    assert found == {("20261202_10_10_0", "gone"), ("20261203_7_7_0", "other-partition")}


def test_the_repair_appends_drop_lines_once(tmp_path: Path) -> None:
    table = _table(tmp_path, "bbb-1", [f"1\t20261201_1_1_0\t{A}", f"1\t20261201_2_2_0\t{B}"], ["20261201_1_1_0"])
    older = table / "deduplication_logs" / "deduplication_log_0.txt"
    older.write_text("1\tall_1_1_0\tancient\n2\tall_1_1_0\tancient\n")
    repaired = repair_dedup_logs(tmp_path)
    assert [(d.part, d.block_id) for d in repaired] == [("20261201_2_2_0", B)]
    newest = (table / "deduplication_logs" / "deduplication_log_1.txt").read_text()
    assert newest.endswith(f"2\t20261201_2_2_0\t{B}\n")
    assert older.read_text() == "1\tall_1_1_0\tancient\n2\tall_1_1_0\tancient\n"
    assert repair_dedup_logs(tmp_path) == []  # a second start finds nothing to do
    assert (table / "deduplication_logs" / "deduplication_log_1.txt").read_text() == newest


def test_a_log_cut_mid_line_is_left_alone(tmp_path: Path) -> None:
    table = _table(tmp_path, "ccc-1", [], [])
    path = table / "deduplication_logs" / "deduplication_log_1.txt"
    path.write_text(f"1\t20261201_1_1_0\t{A}\n1\t20261201_2_2")
    assert repair_dedup_logs(tmp_path) == []
    assert path.read_text() == f"1\t20261201_1_1_0\t{A}\n1\t20261201_2_2"


# -- the real engine: the race is recreated on disk, as a SIGKILL between the two steps leaves it --

_SETUP = """
import pyarrow as pa
from livekit_dashboard.store import open_engine
engine = open_engine("chdb://{path}", "d")
engine.command("CREATE TABLE t (x UInt32, day Date) ENGINE = MergeTree PARTITION BY day ORDER BY x "
               "SETTINGS non_replicated_deduplication_window = 100")
engine.command("CREATE TABLE s (n UInt64) ENGINE = SummingMergeTree ORDER BY tuple() "
               "SETTINGS non_replicated_deduplication_window = 100")
engine.command("CREATE MATERIALIZED VIEW v TO s AS SELECT count() AS n FROM t")
"""
_INSERT = """
import datetime, json, sys
import pyarrow as pa
{open}
rows = pa.table({{"x": pa.array(range(10), pa.uint32()),
                 "day": [datetime.date(2026, 12, 1 + i % 2) for i in range(10)]}})
{insert}
print(json.dumps([{count_t}, {count_s}]))
"""
_BY_ENGINE = {
    "open": 'from livekit_dashboard.store import open_engine\nengine = open_engine("chdb://{path}", "d")',
    "insert": 'engine.insert_arrow("t", rows, token="batch-1")',
    "count_t": 'engine.query("SELECT count() AS n FROM t")[0]["n"]',
    "count_s": 'engine.query("SELECT sum(n) AS n FROM s")[0]["n"]',
}
# ClickHouse itself, with nothing of ours in between
_BY_CHDB = {
    "open": 'import chdb\nconn = chdb.connect("{path}")',
    "insert": "conn.query(\"INSERT INTO d.t SETTINGS insert_deduplication_token = 'batch-1' \"\n"
    '           "SELECT * FROM Python(rows)")',
    "count_t": 'int(conn.query("SELECT count() FROM d.t", "CSV").bytes())',
    "count_s": 'int(conn.query("SELECT sum(n) FROM d.s", "CSV").bytes())',
}


def _python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def _insert(how: dict[str, str], path: Path) -> list[int]:
    import json

    code = _INSERT.format(**{k: v.format(path=path) for k, v in how.items()})
    counts: list[int] = json.loads(_python(code))
    return counts


@pytest.mark.slow
def test_a_block_recorded_but_never_renamed_is_stored_by_the_replay(tmp_path: Path) -> None:
    path = tmp_path / "data"
    _python(_SETUP.format(path=path))
    assert _insert(_BY_ENGINE, path) == [10, 10]
    # the crash: the day-2 part of t and the view's part were recorded in their logs, then the process
    # died before renaming them; ClickHouse deletes tmp_* parts when it starts
    parts = {p.name: p for p in path.glob("store/*/*/*_*_*_*") if p.is_dir()}
    day2 = next(p for name, p in parts.items() if name.startswith("20261202_"))
    view = next(p for name, p in parts.items() if name.startswith("all_"))
    for part in (day2, view):
        part.rename(part.with_name("tmp_insert_" + part.name))
    shutil.copytree(path, tmp_path / "copy", symlinks=True)

    # left to ClickHouse, the replay under the same token is skipped where the part never landed
    assert _insert(_BY_CHDB, tmp_path / "copy") == [5, 0]
    # opened by the engine, the log is repaired first: every row once, the view's count whole
    assert _insert(_BY_ENGINE, path) == [10, 10]
    # and a replay after that is still skipped (nothing twice)
    assert _insert(_BY_ENGINE, path) == [10, 10]
