"""Trace requests decoded by the engine (ingest/trace_requests.py) are stored exactly as the Python decode
stores them, in otel_traces and in every table its materialized views fill; what the SQL does not render
goes to the Python decode; a retry under the same token stores once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from bench.engine_decode import checksums, edge_request
from bench.ingest import build_batches
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from livekit_dashboard.ingest import trace_requests
from livekit_dashboard.ingest.rows import REQUESTS
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.ingest.trace_requests import MIN_ENGINE_SPANS, TraceRequests, prepare_request
from livekit_dashboard.store import Engine

FIXTURES = Path(__file__).parent.parent / "fixtures" / "livekit"


@pytest.fixture
def python_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The batches (their request counts) the Python decode built the rows of."""
    calls: list[int] = []
    real = trace_requests.python_rows

    def counted(requests: pa.Table) -> pa.Table:
        calls.append(requests.num_rows)
        return real(requests)

    monkeypatch.setattr(trace_requests, "python_rows", counted)
    return calls


def _requests(bodies: list[bytes]) -> pa.Table:
    """A batch as the batcher hands it over: the requests prepared for the engine's decode."""
    tables = [prepare_request(ExportTraceServiceRequest.FromString(b), b).tables[REQUESTS] for b in bodies]
    return pa.concat_tables(tables)


def _both_ways(
    engine: Engine, workdir: Path, bodies: list[bytes], python_decodes: list[int]
) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(tables after the Python decode, after the engine's, whether the engine built the rows)."""
    batch = _requests(bodies)
    TraceRequests(engine).insert(batch, token="python-1")
    by_python = checksums(engine)
    for name in by_python:
        engine.command(f"TRUNCATE TABLE `{name}`")
    before = len(python_decodes)
    TraceRequests(engine, workdir, min_spans=1).insert(batch, token="engine-1")
    return by_python, checksums(engine), len(python_decodes) == before


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "decode"
    assert not list((tmp_path / "decode").glob("*.bin"))  # the request file is gone after the insert


def test_the_engine_stores_what_the_python_decode_stores(
    engine: Engine, workdir: Path, python_decodes: list[int]
) -> None:
    bodies = [body for body, _ in build_batches(3000, 512, 3)]
    bodies += [edge_request().SerializeToString()]
    bodies += [path.read_bytes() for path in sorted(FIXTURES.glob("**/traces.pb"))]  # real livekit-agents
    by_python, by_engine, engine_built = _both_ways(engine, workdir, bodies, python_decodes)
    assert engine_built
    assert by_python["otel_traces"][0] > 3000
    assert {"lk_turns", "lk_requests", "lk_call_usage", "otel_traces_trace_id_ts"} <= set(by_python)
    assert by_engine == by_python


def _span_with(*attributes: KeyValue) -> bytes:
    request = ExportTraceServiceRequest()
    span = (
        request.resource_spans.add()
        .scope_spans.add()
        .spans.add(trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), name="turn", start_time_unix_nano=10**18)
    )
    span.attributes.extend(attributes)
    return request.SerializeToString()


@pytest.mark.parametrize(
    "attributes",
    [
        [
            KeyValue(
                key="map",
                value=AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a", value=AnyValue(int_value=1))])),
            )
        ],
        [
            KeyValue(
                key="nested",
                value=AnyValue(
                    array_value=ArrayValue(values=[AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))])
                ),
            )
        ],
        [
            KeyValue(key="k", value=AnyValue(string_value="first")),
            KeyValue(key="k", value=AnyValue(string_value="last")),
        ],
        [
            KeyValue(
                key="ctl", value=AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="tab\x0bstop\x1f")]))
            )
        ],
    ],
    ids=["key-value list", "array in an array", "a key twice", "a control character in an array"],
)
def test_a_value_the_sql_does_not_render_sends_the_batch_to_python(
    engine: Engine, workdir: Path, attributes: list[KeyValue], python_decodes: list[int]
) -> None:
    odd = _span_with(KeyValue(key="plain", value=AnyValue(string_value="x")), *attributes)
    by_python, by_engine, engine_built = _both_ways(
        engine, workdir, [build_batches(600, 512, 4)[0][0], odd], python_decodes
    )
    assert not engine_built
    assert by_engine == by_python
    stored = engine.query("SELECT SpanAttributes AS a FROM otel_traces WHERE SpanName = 'turn'")
    assert stored[0]["a"]["plain"] == "x"
    if attributes[0].key == "k":
        assert stored[0]["a"]["k"] == "last"


def test_invalid_spans_are_counted_and_left_out_as_the_python_decode_does(
    engine: Engine, workdir: Path, python_decodes: list[int]
) -> None:
    request = ExportTraceServiceRequest.FromString(_span_with())
    spans = request.resource_spans[0].scope_spans[0].spans
    good = spans[0]
    for change in (
        {"trace_id": bytes(16)},
        {"span_id": b"\x01" * 7},
        {"parent_span_id": b"\x01" * 4},
        {"name": ""},
        {"end_time_unix_nano": 2**64 - 1},
        {"parent_span_id": bytes(8)},  # valid: an all-zero parent is no parent
    ):
        bad = spans.add()
        bad.CopyFrom(good)
        for key, value in change.items():
            setattr(bad, key, value)
        bad.span_id = bytes([len(spans)] * 8) if "span_id" not in change else bad.span_id
    body = request.SerializeToString()
    ours, theirs = prepare_request(request, body), prepare_spans(request)
    assert (ours.accepted, ours.rejected, ours.reasons) == (theirs.accepted, theirs.rejected, theirs.reasons)
    assert (ours.accepted, ours.rejected) == (2, 5)
    by_python, by_engine, engine_built = _both_ways(engine, workdir, [body], python_decodes)
    assert engine_built
    assert by_engine == by_python
    assert by_engine["otel_traces"][0] == 2


@pytest.mark.parametrize(
    ("first", "again"), [("engine", "engine"), ("engine", "python"), ("python", "engine"), ("python", "python")]
)
def test_a_retry_under_the_same_token_stores_once_whichever_decode(
    engine: Engine, workdir: Path, first: str, again: str, python_decodes: list[int]
) -> None:
    """A batch inserted again after a crash (or a failure) carries its token: every table skips it, even
    when the retry is decoded the other way (a restart on other hardware, with another version)."""
    batch = _requests([body for body, _ in build_batches(1500, 512, 5)])
    decodes = {"engine": TraceRequests(engine, workdir, min_spans=1), "python": TraceRequests(engine)}

    def rows() -> dict[str, int]:
        """Every row written, duplicates and unmerged parts included; but the touch queue's (lk_call_touch
        keeps no deduplication log: a touch more settles a call once more, which changes nothing)."""
        listed = engine.query(
            "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' "
            "AND name != 'lk_call_touch'"
        )
        counts = {r["name"]: engine.query(f"SELECT count() AS n FROM `{r['name']}`")[0]["n"] for r in listed}
        return {name: n for name, n in counts.items() if n}

    decodes[first].insert(batch, token="batch-7")
    once = rows()
    assert once["otel_traces"] == 1536
    decodes[again].insert(batch, token="batch-7")
    assert rows() == once
    assert len(python_decodes) == (first == "python") + (again == "python")
    decodes[again].insert(batch, token="batch-8")
    assert rows()["otel_traces"] == 2 * 1536


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def _wrapped(span: bytes) -> bytes:
    """A request of one resource and one scope holding this encoded span."""
    return _field(1, _field(2, _field(2, span)))  # resource_spans / scope_spans / spans


@pytest.mark.parametrize(
    "span",
    [
        # the name twice: protobuf keeps the last, the engine reads none (and would leave the span out)
        ExportTraceServiceRequest.FromString(_span_with()).resource_spans[0].scope_spans[0].spans[0].SerializeToString()
        + _field(5, b"second name"),
        # an attribute value with two of its kinds set: protobuf keeps the last, the engine refuses the body
        ExportTraceServiceRequest.FromString(_span_with()).resource_spans[0].scope_spans[0].spans[0].SerializeToString()
        + _field(9, _field(1, b"k") + _field(2, _field(1, b"text") + bytes([3 << 3]) + _varint(5))),
    ],
    ids=["a field twice", "a value of two kinds"],
)
def test_a_body_the_engine_reads_otherwise_is_decoded_in_python(
    engine: Engine, workdir: Path, span: bytes, python_decodes: list[int]
) -> None:
    """Encodings protobuf allows that the engine's Protobuf format reads otherwise: the batch is decoded
    in Python, and stored as the Python decode stores it (nothing acknowledged is left out)."""
    odd = _wrapped(span)
    parsed = ExportTraceServiceRequest.FromString(odd).resource_spans[0].scope_spans[0].spans[0]
    by_python, by_engine, engine_built = _both_ways(
        engine, workdir, [build_batches(600, 512, 8)[0][0], odd], python_decodes
    )
    assert not engine_built
    assert by_engine == by_python
    assert by_engine["otel_traces"][0] == 513
    stored = engine.query(
        "SELECT SpanName AS n, SpanAttributes AS a FROM otel_traces WHERE SpanId = {s:String}",
        {"s": parsed.span_id.hex()},
    )
    assert stored[0]["n"] == parsed.name


def test_the_engine_decodes_for_a_server_only_when_asked(make_server: Any, python_decodes: list[int]) -> None:
    """decode_in_engine is off by default; on, a large batch of protobuf trace requests posted to the
    server is decoded by the engine and stored whole."""
    assert not make_server().batcher._requests.in_engine
    server = make_server(decode_in_engine=True, flush_interval_ms=5000)  # the requests share one insert
    assert server.batcher._requests.in_engine
    bodies = [body for body, _ in build_batches(MIN_ENGINE_SPANS + 1024, 512, 9)]
    for body in bodies:
        r = httpx.post(f"{server.base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"})
        assert r.status_code == 200
    assert server.batcher.wait_visible(30)
    assert server.engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] == len(bodies) * 512
    assert python_decodes == []


def test_a_small_batch_is_decoded_in_python_a_large_one_by_the_engine(
    engine: Engine, workdir: Path, python_decodes: list[int]
) -> None:
    """The engine's decode has a fixed cost per insert (planning) that a light load's small batches do not
    earn back."""
    requests = TraceRequests(engine, workdir)
    bodies = [body for body, _ in build_batches(MIN_ENGINE_SPANS + 512, 512, 7)]
    requests.insert(_requests(bodies[:2]), token="small-1")
    assert python_decodes == [2]
    requests.insert(_requests(bodies), token="large-1")
    assert python_decodes == [2]
    assert engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] == 1024 + len(bodies) * 512


def test_a_folder_the_engine_cannot_be_given_means_the_python_decode(engine: Engine, tmp_path: Path) -> None:
    """A file() pattern cannot hold every path: under one with a quote or a glob character, every batch
    is decoded in Python, and stored."""
    requests = TraceRequests(engine, tmp_path / "it's{here}:now")
    assert not requests.in_engine
    requests.insert(_requests([build_batches(600, 512, 6)[0][0]]), token="odd-path-1")
    assert engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] == 512


def test_request_files_a_crash_left_are_removed(engine: Engine, workdir: Path) -> None:
    workdir.mkdir(parents=True)
    (workdir / "requests-7-1.bin").write_bytes(b"left by a crash")
    TraceRequests(engine, workdir)
    assert not list(workdir.glob("requests-*"))
