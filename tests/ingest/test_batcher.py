"""The batcher on the real engine: acknowledged rows become visible, a repeated request is stored
once, and a batch that failed half-way (the raw table written, a derived table not) or that a crash
interrupted is completed on retry without counting anything twice, in raw and derived tables."""

from __future__ import annotations

import functools
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from livekit_dashboard.ingest import Batcher, RecentRequests, WriteAheadLog
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.store import Engine, StorageError, probe_writes
from tests.helpers import make_spans


def _tables(service: str = "batch-agent") -> dict[str, pa.Table]:
    return prepare_spans(encode_spans(make_spans(service=service))).tables


def _batcher(engine: Engine, wal_dir: Path, flush_interval_s: float = 0.0, **kwargs: Any) -> Batcher:
    return Batcher(
        engine,
        WriteAheadLog(wal_dir),
        RecentRequests(wal_dir / "requests.log"),
        probe_writes=functools.partial(probe_writes, engine),
        flush_interval_s=flush_interval_s,
        max_backoff_s=0.05,
        **kwargs,
    )


def _drained(batcher: Batcher, timeout_s: float = 10.0) -> bool:
    """Wait for the writer to empty the queue (wait_visible returns at once while inserts fail)."""
    deadline = time.monotonic() + timeout_s
    while batcher.queue_depth and time.monotonic() < deadline:
        time.sleep(0.02)
    return batcher.queue_depth == 0


def _counts(engine: Engine) -> dict[str, int]:
    """Rows per raw and derived table, and the derived per-call token sum."""
    out = {
        table: int(engine.query(f"SELECT count() AS n FROM {table}")[0]["n"])
        for table in ("otel_traces", "lk_requests", "lk_turns", "lk_calls", "lk_errors")
    }
    out["lk_request_hours.requests"] = int(engine.query("SELECT sum(Requests) AS n FROM lk_request_hours")[0]["n"])
    out["lk_call_usage.input_tokens"] = int(engine.query("SELECT sum(InputTokens) AS n FROM lk_call_usage")[0]["n"])
    return out


def test_acknowledged_rows_become_visible(engine: Engine, tmp_path: Path) -> None:
    batcher = _batcher(engine, tmp_path)
    batcher.start()
    try:
        assert batcher.submit(_tables()) is True
        assert batcher.wait_visible(10)
        assert _counts(engine)["otel_traces"] == 5
        assert batcher.queue_depth == 0
    finally:
        batcher.stop()


def test_requests_close_together_share_an_insert_unless_a_read_waits_for_them(engine: Engine, tmp_path: Path) -> None:
    """An insert costs the same fixed work whatever its size: the writer lingers (flush_interval_s from
    the oldest queued request) so that requests arriving close together share one; a read waiting
    for acknowledged rows ends the linger at once."""
    batcher = _batcher(engine, tmp_path, flush_interval_s=2.0)
    batcher.start()
    try:
        for i in range(3):
            batcher.submit(_tables(service=f"linger-{i}"))
            time.sleep(0.1)
        assert _drained(batcher)
        assert batcher.inserts == 1
        assert _counts(engine)["otel_traces"] == 3 * len(_tables()["otel_traces"])

        long = _batcher(engine, tmp_path / "long", flush_interval_s=60.0)
    finally:
        batcher.stop()
    long.start()
    try:
        long.submit(_tables(service="read-soon"))
        time.sleep(0.2)
        assert long.inserts == 0  # lingering: nobody has asked
        started = time.monotonic()
        assert long.wait_visible(timeout_s=10)
        assert time.monotonic() - started < 5  # not the minute of the linger
        assert long.inserts == 1
        assert engine.query("SELECT count() AS n FROM otel_traces WHERE ServiceName = 'read-soon'")[0]["n"] > 0

        # rows that arrive while a read's rows are being inserted, which no read waits for, linger again
        long.submit(_tables(service="read-again"))
        reader = threading.Thread(target=long.wait_visible, kwargs={"timeout_s": 10})
        reader.start()
        time.sleep(0.02)
        long.submit(_tables(service="nobody-reads"))
        reader.join()
        time.sleep(0.5)
        # (one insert for both, or the read's alone while the other lingers: never a third)
        assert long.inserts == 2
    finally:
        long.stop()


def test_a_request_sent_again_is_answered_not_stored(engine: Engine, tmp_path: Path) -> None:
    batcher = _batcher(engine, tmp_path)
    batcher.start()
    tables, digest = _tables(), b"\x01" * 16
    try:
        assert batcher.submit(tables, digest) is True
        assert batcher.submit(tables, digest) is False  # the client's retry
        assert batcher.submit(tables, b"\x02" * 16) is True  # other content is another request
        assert batcher.wait_visible(10)
        assert batcher.duplicate_requests == 1
        assert _counts(engine)["otel_traces"] == 10
    finally:
        batcher.stop()
    # the digest survives a restart (a client retrying after the server came back)
    again = _batcher(engine, tmp_path)
    again.start()
    try:
        assert again.submit(tables, digest) is False
    finally:
        again.stop()


def test_a_batch_that_failed_half_way_is_completed_once(engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    """The raw table takes the batch, then the insert fails (as a full disk does while writing a
    derived table's part): the retry, under the same token, writes the rest and nothing twice."""
    reference = _tables()
    real_insert = engine.insert_arrow
    failures = [1]

    def insert_then_fail(table: str, data: pa.Table, *, token: str = "") -> None:
        real_insert(table, data, token=token)
        if failures[0]:
            failures[0] -= 1
            raise StorageError("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space")

    monkeypatch.setattr(engine, "insert_arrow", insert_then_fail)
    batcher = _batcher(engine, tmp_path)
    batcher.start()
    try:
        batcher.submit(reference)
        assert _drained(batcher)
    finally:
        batcher.stop()
    assert failures == [0], "the failure was injected"
    monkeypatch.setattr(engine, "insert_arrow", real_insert)
    once = _counts(engine)
    assert once["otel_traces"] == 5
    assert once["lk_requests"] == 2
    assert once["lk_request_hours.requests"] == 2
    assert once["lk_call_usage.input_tokens"] == 100 + 101


def test_a_failing_view_leaves_a_partial_insert_that_the_retry_completes_once(
    own_engine: Engine, tmp_path: Path
) -> None:
    """A real partial insert: one more materialized view on the raw table throws while a flag is set,
    so the raw part (and whichever views ran first) land and the insert fails. Once the flag clears,
    the writer's retry under the same token fills in what was missing and counts nothing twice."""
    engine = own_engine
    engine.command("CREATE TABLE fail_flag (x UInt8) ENGINE = Memory")
    engine.command("INSERT INTO fail_flag VALUES (1)")
    engine.command(
        "CREATE TABLE canary (TraceId String) ENGINE = MergeTree ORDER BY TraceId "
        "SETTINGS non_replicated_deduplication_window = 1000"
    )
    engine.command(
        "CREATE MATERIALIZED VIEW canary_mv TO canary AS SELECT TraceId FROM otel_traces "
        "WHERE throwIf((SELECT count() FROM fail_flag) > 0, 'injected view failure') = 0"
    )
    batcher = _batcher(engine, tmp_path)
    batcher.start()
    try:
        batcher.submit(_tables())
        assert batcher.wait_visible(1) is False
        assert "injected view failure" in (batcher.last_error or "")
        assert _counts(engine)["otel_traces"] == 5, "the raw part landed before the view failed"
        engine.command("TRUNCATE TABLE fail_flag")
        assert _drained(batcher)
    finally:
        batcher.stop()
    once = _counts(engine)
    assert once["otel_traces"] == 5
    assert once["lk_requests"] == 2
    assert once["lk_turns"] == 2
    assert once["lk_request_hours.requests"] == 2
    assert once["lk_call_usage.input_tokens"] == 100 + 101
    assert engine.query("SELECT count() AS n FROM canary") == [{"n": 5}]


def test_a_batch_a_crash_interrupted_is_replayed_as_the_same_batch(engine: Engine, tmp_path: Path) -> None:
    """A crash after the insert and before the checkpoint: the next start replays the in-flight
    batch under the same token, and storage skips it."""
    first, second = _tables("crash-a"), _tables("crash-b")
    wal = WriteAheadLog(tmp_path)
    from livekit_dashboard.ingest.wal import encode_payload

    a = wal.append(encode_payload(first))
    b = wal.append(encode_payload(second))
    wal.mark_inflight(a[0], b[1])
    token = wal.token(a[0], b[1])
    for name in first:  # what the crashed writer had inserted, as one batch
        engine.insert_arrow(name, pa.concat_tables([first[name], second[name]]), token=f"{token}:{name}")
    wal.close()  # killed before the checkpoint
    before = _counts(engine)

    batcher = _batcher(engine, tmp_path)
    batcher.start()
    try:
        assert batcher.recovered_rows == 10
        assert batcher.wait_visible(10)
    finally:
        batcher.stop()
    assert _counts(engine) == before  # replayed, and skipped by storage
    assert before["otel_traces"] == 10


def test_without_the_same_batch_a_replay_would_count_twice(engine: Engine, tmp_path: Path) -> None:
    """The control for the test above: the same rows inserted under another token are stored again,
    so it is the in-flight record that prevents the double count."""
    tables = _tables()
    for name, data in tables.items():
        engine.insert_arrow(name, data, token=f"one:{name}")
        engine.insert_arrow(name, data, token=f"two:{name}")
        engine.insert_arrow(name, data, token=f"one:{name}")
    assert _counts(engine)["otel_traces"] == 10


def test_storage_down_keeps_rows_and_reports_it(engine: Engine, tmp_path: Path, monkeypatch: Any) -> None:
    def down(*args: Any, **kwargs: Any) -> None:
        raise StorageError("Code: 210. connection refused")

    monkeypatch.setattr(engine, "insert_arrow", down)
    monkeypatch.setattr(engine, "command", down)
    batcher = _batcher(engine, tmp_path)
    batcher.start()
    try:
        batcher.submit(_tables())
        assert batcher.wait_visible(1) is False
        assert batcher.last_error is not None
        assert "connection refused" in batcher.last_error
        assert batcher.queue_depth == 5
    finally:
        batcher.stop()
    assert list(WriteAheadLog(tmp_path).recover()), "the rows stay in the log for the next start"


@pytest.mark.parametrize("digest", [b"short", b"x" * 17])
def test_a_digest_must_be_16_bytes(engine: Engine, tmp_path: Path, digest: bytes) -> None:
    batcher = _batcher(engine, tmp_path)
    with pytest.raises(ValueError, match="16 bytes"):
        batcher.submit(_tables(), digest)
    batcher.stop()
