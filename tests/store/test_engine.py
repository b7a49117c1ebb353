"""The engine: inserts that fail say so (never a silent loss), deduplication tokens make a retried
insert count once, and connections are per thread."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from livekit_dashboard.store import Engine, StorageError, open_engine


def _rows(n: int, start: int = 0) -> pa.Table:
    return pa.table({"k": pa.array(range(start, start + n), pa.uint64()), "v": [f"v{i}" for i in range(n)]})


def test_a_failing_insert_raises_and_writes_nothing(own_engine: Engine) -> None:
    """A CHECK constraint refuses the block: chDB's streaming insert would return normally and lose
    the rows; ours must raise."""
    own_engine.command(
        "CREATE TABLE checked (k UInt64, v String, CONSTRAINT small CHECK k < 5) ENGINE = MergeTree ORDER BY k"
    )
    with pytest.raises(StorageError, match=r"small|CONSTRAINT|VIOLATED"):
        own_engine.insert_arrow("checked", _rows(10))
    assert own_engine.query("SELECT count() AS n FROM checked") == [{"n": 0}]
    own_engine.insert_arrow("checked", _rows(3))
    assert own_engine.query("SELECT count() AS n FROM checked") == [{"n": 3}]


def test_a_failing_view_makes_the_insert_raise(own_engine: Engine) -> None:
    own_engine.command("CREATE TABLE src (k UInt64, v String) ENGINE = MergeTree ORDER BY k")
    own_engine.command("CREATE TABLE dst (k UInt64) ENGINE = MergeTree ORDER BY k")
    own_engine.command("CREATE MATERIALIZED VIEW mv TO dst AS SELECT k FROM src WHERE throwIf(k > 7, 'too big') = 0")
    with pytest.raises(StorageError, match="too big"):
        own_engine.insert_arrow("src", _rows(10))


def test_a_token_makes_a_retry_count_once(own_engine: Engine) -> None:
    own_engine.command(
        "CREATE TABLE d (k UInt64, v String) ENGINE = MergeTree ORDER BY k "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    own_engine.insert_arrow("d", _rows(4), token="batch-1")
    own_engine.insert_arrow("d", _rows(4), token="batch-1")
    assert own_engine.query("SELECT count() AS n FROM d") == [{"n": 4}]
    own_engine.insert_arrow("d", _rows(4), token="batch-2")
    own_engine.insert_arrow("d", _rows(4))  # no token: always inserted
    assert own_engine.query("SELECT count() AS n FROM d") == [{"n": 12}]


@pytest.mark.parametrize("token", ["a b", "x'); DROP TABLE d; --", "é", "a" * 201])
def test_tokens_are_checked(own_engine: Engine, token: str) -> None:
    with pytest.raises(StorageError, match="invalid insert deduplication token"):
        own_engine.insert_arrow("otel_traces", _rows(1), token=token)


def test_threads_each_get_a_connection(engine: Engine) -> None:
    """Parameters never leak between threads sharing the engine."""
    errors: list[str] = []

    def ask(i: int) -> None:
        for _ in range(20):
            got = engine.query("SELECT {v:String} AS v", {"v": f"thread-{i}"})
            if got != [{"v": f"thread-{i}"}]:
                errors.append(f"{i}: {got}")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_unsupported_dsn_is_a_clear_error() -> None:
    with pytest.raises(StorageError, match="unsupported storage DSN"):
        open_engine("postgres://localhost/x")
    with pytest.raises(StorageError, match="chdb DSN needs a path"):
        open_engine("chdb://")


def test_queries_run_without_jit_compilation(engine: Engine) -> None:
    """chDB keeps no compiled expressions between queries, so compiling them cost a panel query 50-93 ms
    each time: every pooled connection turns it off (docs/benchmarks.md)."""
    row = engine.query(
        "SELECT getSetting('compile_expressions') AS e, getSetting('compile_aggregate_expressions') AS a, "
        "getSetting('compile_sort_description') AS s"
    )[0]
    assert row == {"e": False, "a": False, "s": False}


def test_reads_again_come_from_the_cache_of_decompressed_blocks(own_engine: Engine) -> None:
    """The dashboard reads the same parts again and again: the second read of a column takes its blocks
    from ClickHouse's uncompressed cache, however many rows it reads (ClickHouse's own default skips the
    cache above a million rows). The test process's chDB has the engine's default size (conftest)."""
    own_engine.command("CREATE TABLE cached (k UInt64, v String) ENGINE = MergeTree ORDER BY k")
    own_engine.insert_arrow("cached", _rows(1_200_000))
    hits = "SELECT toInt64(sum(value)) AS n FROM system.events WHERE event = 'UncompressedCacheHits'"
    read = "SELECT sum(length(v)) AS n FROM cached"
    first = own_engine.query(read)
    before = own_engine.query(hits)[0]["n"]
    assert own_engine.query(read) == first
    assert own_engine.query(hits)[0]["n"] - before >= 100  # the blocks of 1.2M rows, not one by chance


def test_read_cache_mb_sizes_the_cache_or_turns_it_off(chdb_dir: Path, tmp_path: Path) -> None:
    """chDB fixes its server settings at a process's first connection: a fresh process opened with
    read_cache_mb gets that cache; 0 leaves the connections' reads uncached."""
    script = (
        "from livekit_dashboard.store import open_engine\n"
        f"e = open_engine('chdb://{tmp_path}', 'otel', read_cache_mb=64)\n"
        "size = \"SELECT value FROM system.server_settings WHERE name = 'uncompressed_cache_size'\"\n"
        "print(e.query(size)[0]['value'])\n"
        "print(e.query(\"SELECT getSetting('use_uncompressed_cache') AS u\")[0]['u'])\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == [str(64 << 20), "True"]
    off = open_engine(f"chdb://{chdb_dir}", "default", read_cache_mb=0)
    try:
        assert off.query("SELECT getSetting('use_uncompressed_cache') AS u") == [{"u": False}]
    finally:
        off.close()
