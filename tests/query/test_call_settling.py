"""Settling calls while another writer inserts: a touch can be visible before the rows it stands for
(an insert's materialized views commit one by one). This server holds its own inserts off while a
round reads the touch queue; a writer it does not gate (the Collector writing the same ClickHouse)
cannot be held off, so a round settles again, once that insert has ended, each call whose touch was
stamped while an insert was still running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from livekit_dashboard.demo.catalog import SERVICES
from livekit_dashboard.demo.generator import DemoConfig, call_spans, resource_for, simulate
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.query import call_records
from livekit_dashboard.query.call_records import CallRecords
from livekit_dashboard.store import Engine, StorageError, open_engine
from tests.collector_exporter import insert_request
from tests.conftest import DatabasePool

TRACES = Path(__file__).parent.parent / "fixtures" / "livekit" / "pipeline_audio" / "traces.pb"


@pytest.fixture
def engine(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[Engine]:
    database = database_pool.take()
    eng = open_engine(f"chdb://{chdb_dir}", database)
    yield eng
    eng.close()
    database_pool.give_back(database)


def halves() -> tuple[ExportTraceServiceRequest, ExportTraceServiceRequest]:
    """A recorded call's spans as two requests: the ones that started in its first half (its session's
    among them), then the rest."""
    request = ExportTraceServiceRequest.FromString(TRACES.read_bytes())
    starts = sorted(s.start_time_unix_nano for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans)
    middle = starts[len(starts) // 2]
    first, second = ExportTraceServiceRequest(), ExportTraceServiceRequest()
    first.CopyFrom(request)
    second.CopyFrom(request)
    for part, keep in ((first, lambda start: start <= middle), (second, lambda start: start > middle)):
        for rs in part.resource_spans:
            for ss in rs.scope_spans:
                spans = [s for s in ss.spans if keep(s.start_time_unix_nano)]
                del ss.spans[:]
                ss.spans.extend(spans)
    return first, second


def store_calls(engine: Engine, config: DemoConfig) -> list[Any]:
    """Demo calls' spans stored straight into otel_traces (their touches stamped as they land)."""
    resources = {s.name: resource_for(s) for s in SERVICES}
    calls = list(simulate(config))
    for call in calls:
        spans = list(call_spans(call, resources[call.service.name]))
        engine.insert_arrow("otel_traces", prepare_spans(encode_spans(spans)).tables["otel_traces"])
    return calls


def record(engine: Engine) -> dict[str, int]:
    rows = engine.query("SELECT turns, total_llm_tokens FROM lk_call_records FINAL")
    assert len(rows) == 1
    return {k: int(v) for k, v in rows[0].items()}


def slow_insert(chdb_dir: Path, database: str, started: threading.Event) -> None:
    """An insert that runs about three seconds (another writer's, still committing)."""
    other = open_engine(f"chdb://{chdb_dir}", database)
    try:
        started.set()
        other.command(
            "INSERT INTO livekit_dashboard_health SELECT now64(3) FROM numbers(30) WHERE sleepEachRow(0.1) = 0 "
            "SETTINGS function_sleep_max_microseconds_per_block = 10000000, max_block_size = 1"
        )
    finally:
        other.close()


def test_a_touch_stamped_during_another_insert_settles_its_call_again_after_it(engine: Engine, chdb_dir: Path) -> None:
    first, second = halves()
    whole_engine_database = engine.query("SELECT currentDatabase() AS d")[0]["d"]
    records = CallRecords(engine)  # no gate: every write here comes from "another writer"
    started = threading.Event()
    writer = threading.Thread(target=slow_insert, args=(chdb_dir, whole_engine_database, started))
    writer.start()
    try:
        started.wait(10)
        deadline = time.monotonic() + 10
        while not engine.query("SELECT 1 FROM system.processes WHERE query_kind = 'Insert'"):
            assert time.monotonic() < deadline, "the slow insert never showed in system.processes"
            time.sleep(0.02)
        insert_request(engine, "traces", first)
        (touch,) = engine.query("SELECT toString(TouchId) AS id FROM lk_call_touch")
        assert records.settle() == 1
        partial = record(engine)

        # the rest of the call's rows become visible with no touch of their own: as when a round read a
        # touch that an insert still committing had stamped before its rows
        insert_request(engine, "traces", second)
        engine.command(
            "ALTER TABLE lk_call_touch DELETE WHERE toString(TouchId) != {id:String} SETTINGS mutations_sync = 2",
            {"id": touch["id"]},
        )
        assert engine.query("SELECT count() AS n FROM lk_call_touch")[0]["n"] == 1
    finally:
        writer.join(30)
    assert not writer.is_alive()

    # the insert has ended: the background's next round settles the call again, whole, though no touch
    # came since (the round that left it said so), and not a minute later
    assert records.settle_due(30, 1000) == 1
    whole = record(engine)
    assert whole["turns"] > partial["turns"], (partial, whole)
    assert records.settle_due(0, 1) == 0  # and only once
    records.barrier()
    assert records.settle() == 0


def test_with_no_insert_running_a_touch_is_settled_once(engine: Engine) -> None:
    first, second = halves()
    records = CallRecords(engine)
    insert_request(engine, "traces", first)
    insert_request(engine, "traces", second)
    assert records.settle() == 1
    assert records.settle() == 0
    assert record(engine)["turns"] > 0


class QueriesNoted:
    """The real engine, noting the SQL of each query it runs (to see what a barrier reads)."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.queries: list[str] = []

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        self.queries.append(sql)
        return self.inner.query(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_barrier_reads_the_touch_queue_only_when_something_was_written(engine: Engine, chdb_dir: Path) -> None:
    first, second = halves()
    noted = QueriesNoted(engine)
    records = CallRecords(noted)
    insert_request(engine, "traces", first)
    records.barrier()  # written since the start: settled before the read
    partial = record(engine)["turns"]
    assert partial > 0
    records.barrier()  # (the round's own writes count: the queue is read once more, found unchanged)
    noted.queries.clear()
    for _ in range(3):
        records.barrier()
    assert noted.queries == []  # nothing written since: the queue is not even read

    # another engine of this process on the same store writes the rest of the call: counted, settled
    other = open_engine(f"chdb://{chdb_dir}", engine.query("SELECT currentDatabase() AS d")[0]["d"])
    try:
        insert_request(other, "traces", second)
    finally:
        other.close()
    records.barrier()
    assert record(engine)["turns"] > partial
    records.barrier()
    noted.queries.clear()
    # a write that failed counts too (it may have stored part of what it carried)
    with pytest.raises(StorageError):
        engine.command("INSERT INTO lk_call_touch (TouchId) VALUES ('not a uuid')")
    records.barrier()
    assert [q for q in noted.queries if "lk_call_touch" in q], noted.queries


def test_a_background_round_settles_a_light_load_late_and_a_heavy_one_at_once(engine: Engine) -> None:
    """settle_due: a round costs the same planning however few calls it settles, and reads settle what
    they need first (barrier), so the background settles a few touches only once the first of them has
    waited max_delay_s, and many touches at once; the first round after a start settles at once."""
    first, second = halves()
    clock = [1000.0]
    records = CallRecords(engine, clock=lambda: clock[0])
    insert_request(engine, "traces", first)
    assert records.settle_due(30, 1000) == 1  # a start: everything touched since the last round
    partial = record(engine)["turns"]
    assert records.settle_due(30, 1000) == 0  # nothing new

    insert_request(engine, "traces", second)  # a few touches: not yet
    assert records.settle_due(30, 1000) == 0
    clock[0] += 29
    assert records.settle_due(30, 1000) == 0
    assert record(engine)["turns"] == partial
    clock[0] += 1  # the first waiting touch was seen 30 s ago
    assert records.settle_due(30, 1000) == 1
    assert record(engine)["turns"] > partial
    assert records.settle_due(30, 1000) == 0

    insert_request(engine, "traces", first)  # as many touches as a heavy load's threshold: at once
    touches = engine.query("SELECT count() AS n FROM lk_call_touch")[0]["n"]
    assert records.settle_due(30, 1) == 1, touches
    # and a read never waits for the background: its barrier settles what it may see
    insert_request(engine, "traces", second)
    assert records.settle_due(30, 1000) == 0
    records.barrier()
    assert records.settle_due(0, 1) == 0  # the barrier left nothing waiting


def test_a_bulk_round_settles_in_chunks_of_neighbouring_start_times(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More touched traces than one chunk holds (a migration, an import): each chunk holds traces that
    started near each other, so its statements read a short window; every trace still settles, and a
    round that large ends by merging what it wrote."""
    calls = store_calls(engine, DemoConfig(calls=9, days=3, seed=5))
    monkeypatch.setattr(call_records, "_CHUNK", 2)
    monkeypatch.setattr(call_records, "_COMPACT_AFTER", 5)
    records_ = CallRecords(engine)
    chunks: list[list[str]] = []
    settle_chunk = records_._settle_chunk

    def spied(traces: list[str], calls_: list[str], settled_at_ms: int) -> None:
        chunks.append(traces)
        settle_chunk(traces, calls_, settled_at_ms)

    monkeypatch.setattr(records_, "_settle_chunk", spied)
    assert records_.settle() == len(calls)
    start = {
        r["t"]: r["s"] for r in engine.query("SELECT TraceId AS t, min(Timestamp) AS s FROM otel_traces GROUP BY t")
    }
    settled = [trace for chunk in chunks for trace in chunk]
    assert sorted(settled) == sorted(start)
    assert [start[t] for t in settled] == sorted(start.values())
    assert len(chunks) == 5
    assert engine.query("SELECT count() AS n FROM lk_call_records FINAL")[0]["n"] == len(calls)
    # and then merged: a part per day of error records (the chunks wrote several), one of call records
    parts = engine.query(
        "SELECT table, count() AS parts, uniqExact(partition) AS days FROM system.parts "
        "WHERE database = currentDatabase() AND active AND table IN ('lk_error_records', 'lk_call_records') "
        "GROUP BY table ORDER BY table"
    )
    assert [(r["table"], r["parts"]) for r in parts] == [("lk_call_records", 1), ("lk_error_records", parts[1]["days"])]


def test_a_round_killed_between_its_chunks_is_settled_whole_after_a_restart(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A round of many chunks (a migration, an import) writes its first chunks' records before its last
    ones: a server killed in between must settle the rest when it starts again, not resume after the
    round's start because some records of it exist (touches older than the overlap were then lost)."""
    calls = store_calls(engine, DemoConfig(calls=7, days=2, seed=11))
    monkeypatch.setattr(call_records, "_CHUNK", 2)
    monkeypatch.setattr(call_records, "_OVERLAP_S", 0)  # the touches are older than the overlap
    time.sleep(0.01)  # the round starts after the touches were stamped
    killed = CallRecords(engine)
    settle_chunk = killed._settle_chunk
    done: list[int] = []

    def dies_after_the_first(traces: list[str], calls_: list[str], settled_at_ms: int) -> None:
        if done:
            raise KeyboardInterrupt  # the process stops here (a kill: nothing after it runs)
        settle_chunk(traces, calls_, settled_at_ms)
        done.append(len(traces))

    monkeypatch.setattr(killed, "_settle_chunk", dies_after_the_first)
    with pytest.raises(KeyboardInterrupt):
        killed.settle()
    assert engine.query("SELECT count() AS n FROM lk_call_records FINAL")[0]["n"] == done[0] == 2
    restarted = CallRecords(engine)
    restarted.settle()
    assert engine.query("SELECT count() AS n FROM lk_call_records FINAL")[0]["n"] == len(calls)
    # and a round that ended is not settled again after the next restart
    assert CallRecords(engine).settle() == 0
