"""The OTLP decode in the engine against the Python decode (issue #18: "letting ClickHouse parse the
protobuf itself"): the server's two ways of storing a protobuf trace request, on the same spans.

    python -m bench.engine_decode [--spans 100000]

The same LiveKit-mix request bodies as `bench.ingest`, plus one request of edge values (doubles from
5e-324 to 1e22, NaN and infinities, a whole 2^60, escapes in JSON strings, bytes, an empty value, every
span kind and status code, events and links), go into one embedded store twice: through the Python rows
(ingest/spans.py) and an Arrow insert, then, the tables emptied, through the engine's decode
(ingest/trace_requests.py: the engine parses the bodies with its Protobuf input format and builds the
rows in SQL). Every table (otel_traces and all its materialized views fill) is compared between the
two, so the table also says whether they store the same thing.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from bench.ingest import build_batches
from livekit_dashboard.ingest.rows import REQUESTS
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.ingest.trace_requests import TraceRequests, prepare_request
from livekit_dashboard.store import Engine, apply_migrations, open_engine


def edge_request() -> ExportTraceServiceRequest:
    """One request with the values the rules above are about, so the comparison covers them."""
    doubles = [1e21, -1.5e22, 1e-7, 2.0**60, 0.1, -0.0, 123456.789, 5e-324, math.nan, math.inf]
    scalars = [
        AnyValue(string_value='say "hi"\n\\ a/b <&> ✓ \u2028 \x01'),
        AnyValue(bool_value=False),
        AnyValue(int_value=-(2**63)),
        AnyValue(bytes_value=b"\x00\xff"),
        *(AnyValue(double_value=d) for d in doubles),
    ]
    attributes = [KeyValue(key=f"v{i}", value=v) for i, v in enumerate([*scalars, AnyValue()])]
    attributes.append(KeyValue(key="list", value=AnyValue(array_value=ArrayValue(values=scalars[:8]))))
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.add(key="service.name", value=AnyValue(string_value="edges"))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name, scope_spans.scope.version = "edge-scope", "1.2"
    for kind in range(7):
        span = scope_spans.spans.add(
            trace_id=bytes([kind + 1] * 16),
            span_id=bytes([kind + 1] * 8),
            parent_span_id=b"" if kind % 2 else bytes([9] * 8),
            name=f"edge {kind}",
            kind=kind,
            start_time_unix_nano=1_700_000_000_123_456_789 + kind,
            end_time_unix_nano=1_700_000_000_000_000_000 if kind == 6 else 1_700_000_001_000_000_000,
        )
        span.status.code = Status.StatusCode.ValueType(kind % 4)  # 3: not a code
        span.status.message = "why" if kind else ""
        span.attributes.extend(attributes)
        span.events.add(time_unix_nano=1_700_000_000_500_000_000, name="event").attributes.extend(attributes[:3])
        link = span.links.add(trace_id=bytes([7] * 16), span_id=b"\0" * 8, trace_state="k=v")
        link.attributes.extend(attributes[3:6])
    return request


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def checksums(engine: Engine) -> dict[str, tuple[int, int]]:
    """(rows, their order-independent checksum: a sum of row hashes, so a duplicate row counts) per
    MergeTree table that holds rows, the migrations' ledger left out. A table whose engine merges rows
    (the aggregating and summing ones) is read with FINAL, its arrays sorted (groupUniqArray's order), its
    sketches as their quantiles and its doubles to 6 decimals (a merge's additions come in any order); a
    plain table's rows exactly as stored; lk_call_touch's distinct touches (a view that groups each
    inserted block writes as many rows as blocks), without when they were written."""
    final = {
        r["name"]
        for r in engine.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' "
            "AND engine NOT IN ('MergeTree', 'ReplicatedMergeTree')"
        )
    }
    columns: dict[str, list[str]] = {}
    for row in engine.query(
        "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() AND table IN "
        "(SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree') "
        "AND name NOT IN ('TouchedAt', 'TouchId') AND table != 'livekit_dashboard_migrations' ORDER BY table, position"
    ):
        column, kind = f"`{row['name']}`", row["type"]
        if row["table"] in final:
            if kind.startswith("AggregateFunction("):
                column = f"finalizeAggregation({column})"
                column = f"arrayMap(v -> round(v, 6), {column})" if "quantiles" in kind else f"round({column}, 6)"
            elif "Array(" in kind:
                column = f"arraySort({column})"
            elif kind.startswith(("Float", "SimpleAggregateFunction(sum, Float")):
                column = f"round({column}, 6)"
        columns.setdefault(row["table"], []).append(column)
    out = {}
    for name, names in columns.items():
        distinct = "DISTINCT " if name == "lk_call_touch" else ""
        rows = f"SELECT {distinct}{', '.join(names)} FROM `{name}` {'FINAL' if name in final else ''}"
        row = engine.query(f"SELECT count() AS n, sum(cityHash64(*)) AS h FROM ({rows})")[0]
        if row["n"]:
            out[name] = (int(row["n"]), int(row["h"]))
    return out


def _quiet(store: Engine) -> None:
    """Wait (up to a minute) until no merge runs."""
    deadline = time.monotonic() + 60
    while store.query("SELECT count() AS n FROM system.merges")[0]["n"] and time.monotonic() < deadline:
        time.sleep(0.2)


def measure(spans: int, tmp: Path) -> tuple[int, list[tuple[str, float]], list[str]]:
    """(spans, [(stage, µs of CPU per span)], tables whose contents differ between the two decodes)."""
    bodies = [body for body, _ in build_batches(spans, 512, 1)] + [edge_request().SerializeToString()]
    requests = [ExportTraceServiceRequest.FromString(body) for body in bodies]
    n = sum(len(ss.spans) for r in requests for rs in r.resource_spans for ss in rs.scope_spans)
    stages: list[tuple[str, float]] = []

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        """A stage's CPU per span, with the merges its inserts start (until none runs)."""
        cpu0 = _cpu_s()
        result = work()
        _quiet(store)
        stages.append((stage, 1e6 * (_cpu_s() - cpu0) / n))
        return result

    store = open_engine(f"chdb://{tmp / 'store'}")  # one embedded store per process: the two decodes in turn
    try:
        apply_migrations(store)
        tables = timed(
            "Python: rows for otel_traces (ingest/spans.py)",
            lambda: [prepare_spans(request).tables["otel_traces"] for request in requests],
        )
        rows = pa.concat_tables(tables)

        def insert_rows() -> None:
            for i in range(0, rows.num_rows, 50_000):
                store.insert_arrow("otel_traces", rows.slice(i, 50_000))

        timed("Python: those rows inserted with the LiveKit views (50,000-row blocks), and the merges", insert_rows)
        by_python = checksums(store)
        for name in by_python:
            store.command(f"TRUNCATE TABLE `{name}`")
        decode = TraceRequests(store, tmp / "decode", min_spans=1)
        per_batch = 50_000 // 512
        prepared = [
            prepare_request(request, body).tables[REQUESTS] for request, body in zip(requests, bodies, strict=True)
        ]
        batches = [pa.concat_tables(prepared[i : i + per_batch]) for i in range(0, len(prepared), per_batch)]

        def insert_requests() -> None:
            for i, batch in enumerate(batches):
                decode.insert(batch, token=f"bench-{i}")

        timed(
            "engine: parse, rows and insert with the LiveKit views (ingest/trace_requests.py), and the merges",
            insert_requests,
        )
        by_engine = checksums(store)
        if decode.fallbacks:
            raise SystemExit(f"{decode.fallbacks} batches were decoded in Python: the engine's figure is not one")
    finally:
        store.close()
    differ = sorted(name for name in set(by_python) | set(by_engine) if by_python.get(name) != by_engine.get(name))
    return n, stages, differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000, help="spans to decode both ways")
    args = parser.parse_args()
    print(f"decoding {args.spans} LiveKit-mix spans in Python and in the engine ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="lkd-bench-") as tmp:
        n, stages, differ = measure(args.spans, Path(tmp))
    print(f"\n| stage ({n:,} spans, one process; the protobuf parse before it is the same) | µs CPU per span |")
    print("|---|---:|")
    for stage, us in stages:
        print(f"| {stage} | {us:.1f} |")
    print(
        "\nboth stores hold the same rows in every table"
        if not differ
        else f"\nthe two paths stored different rows in: {', '.join(differ)}"
    )


if __name__ == "__main__":
    main()
