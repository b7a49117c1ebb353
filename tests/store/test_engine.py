"""The engine: inserts that fail say so (never a silent loss), deduplication tokens make a retried
insert count once, and connections are per thread."""

from __future__ import annotations

import threading

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
