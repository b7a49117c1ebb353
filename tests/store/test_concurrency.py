"""The engine under concurrent parameterised reads while a writer inserts: every result checked,
within a hard timeout (a shared raw chDB connection leaks parameters and deadlocks here)."""

from __future__ import annotations

import random
import threading
import time

import pyarrow as pa
import pytest

from livekit_dashboard.store import Engine
from livekit_dashboard.store import tables as schemas


def _spans(batch: int, n: int) -> pa.Table:
    base = 1_790_000_000_000_000_000 + batch * 10**12
    rows = {name: [] for name in schemas.TRACES.names}  # type: ignore[var-annotated]
    for i in range(n):
        rows["Timestamp"].append(base + i)
        rows["TraceId"].append(f"{batch:016x}{i:016x}")
        rows["SpanId"].append(f"{i:016x}")
        rows["ParentSpanId"].append("")
        rows["TraceState"].append("")
        rows["SpanName"].append(f"batch_{batch}")
        rows["SpanKind"].append("Internal")
        rows["ServiceName"].append(f"svc-{batch % 4}")
        rows["ResourceAttributes"].append([("service.name", f"svc-{batch % 4}")])
        rows["ScopeName"].append("livekit-agents")
        rows["ScopeVersion"].append("")
        rows["SpanAttributes"].append([("i", str(i))])
        rows["Duration"].append(i)
        rows["StatusCode"].append("Unset")
        rows["StatusMessage"].append("")
        for key in (
            "Events.Timestamp",
            "Events.Name",
            "Events.Attributes",
            "Links.TraceId",
            "Links.SpanId",
            "Links.TraceState",
            "Links.Attributes",
        ):
            rows[key].append([])
    return pa.Table.from_pydict(rows, schema=schemas.TRACES)


@pytest.mark.timeout(180)
def test_parameterised_reads_stay_correct_while_ingest_runs(engine: Engine) -> None:
    batch_rows, n_batches, n_readers, reads_each = 2_000, 12, 8, 40
    engine.insert_arrow("otel_traces", _spans(0, batch_rows))
    errors: list[str] = []
    done_batches = [1]
    stop = threading.Event()

    def writer() -> None:
        for batch in range(1, n_batches):
            engine.insert_arrow("otel_traces", _spans(batch, batch_rows))
            done_batches[0] = batch + 1
        stop.set()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(reads_each):
            visible = done_batches[0]
            batch = rng.randrange(visible)
            i = rng.randrange(batch_rows)
            token = rng.getrandbits(40)
            try:
                rows = engine.query(
                    "SELECT {token:UInt64} AS token, SpanName AS name, Duration AS d, SpanAttributes['i'] AS i "
                    "FROM otel_traces WHERE TraceId = {trace_id:String}",
                    {"token": token, "trace_id": f"{batch:016x}{i:016x}"},
                )
                counts = engine.query(
                    "SELECT count() AS n FROM otel_traces WHERE SpanName = {name:String}",
                    {"name": f"batch_{batch}"},
                )
            except Exception as exc:
                errors.append(f"query failed: {exc}")
                continue
            expected = [{"token": token, "name": f"batch_{batch}", "d": i, "i": str(i)}]
            if rows != expected:
                errors.append(f"wrong row for batch {batch} span {i}: {rows}")
            if counts != [{"n": batch_rows}]:
                errors.append(f"wrong count for batch {batch}: {counts}")

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(k,)) for k in range(n_readers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, 150 - (time.monotonic() - started)))
    assert not any(t.is_alive() for t in threads), "engine deadlocked: threads still running after 150 s"
    assert stop.is_set()
    assert errors == []
    assert engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] == batch_rows * n_batches
