"""The OTLP decode in the engine: what it would cost ClickHouse to parse the OTLP protobuf and build the
otel_traces rows itself, against the server's Python decode (issue #18: "letting ClickHouse parse the
protobuf itself"). A measurement of a design, not a path the server takes.

    python -m bench.engine_decode [--spans 100000]

The same LiveKit-mix request bodies as `bench.ingest` are written length-delimited to a file; the
engine reads them with its `Protobuf` input format (a trimmed OTLP trace schema, `oneof` presence on)
and one INSERT ... SELECT turns them into otel_traces rows: ids to hex, kinds and status codes to the
Collector's words, attributes to Map(String, String) with pdata's AsString rules (doubles like
ECMAScript, arrays of scalars as Go's JSON; nested arrays and key-value lists are not re-stated here).
One more request holds edge values (doubles from 5e-324 to 1e22, NaN and infinities, a whole 2^60,
escapes in JSON strings, bytes, an empty value, every span kind and status code, events and links).
Two fresh stores receive the same spans, one through the server's Python rows and Arrow insert, one
through the engine's decode; every table's checksum (the raw spans and everything the materialized
views derived) is compared, so the table says whether the two store the same thing.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue

from bench.ingest import build_batches
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.store import Engine, apply_migrations, open_engine

# OTLP's trace messages (opentelemetry-proto, common/resource/trace v1), only the fields the rows use;
# field numbers as the specification gives them
_SCHEMA = """syntax = "proto3";
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Scope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
  int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; repeated Event events = 11; repeated Link links = 13; Status status = 15;
}
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
"""

_ONEOF = "Enum8(''none''=0, ''string_value''=1, ''bool_value''=2, ''int_value''=3, ''double_value''=4, " + (
    "''array_value''=5, ''kvlist_value''=6, ''bytes_value''=7)"
)
_SCALAR = "string_value String, bool_value Bool, int_value Int64, double_value Float64, bytes_value String"
_ELEMENT = f"Tuple({_SCALAR}, value {_ONEOF})"  # an array's element: a scalar (deeper values not re-stated)
_KV = f"Array(Tuple(key String, value Tuple({_SCALAR}, array_value Tuple(values Array({_ELEMENT})), value {_ONEOF})))"
_SPAN = (
    "Tuple(trace_id String, span_id String, trace_state String, parent_span_id String, name String, kind Int32, "
    f"start_time_unix_nano UInt64, end_time_unix_nano UInt64, attributes {_KV}, "
    f"events Array(Tuple(time_unix_nano UInt64, name String, attributes {_KV})), "
    f"links Array(Tuple(trace_id String, span_id String, trace_state String, attributes {_KV})), "
    "status Tuple(message String, code Int32))"
)
_STRUCTURE = (
    f"resource_spans Array(Tuple(resource Tuple(attributes {_KV}), "
    f"scope_spans Array(Tuple(scope Tuple(name String, version String), spans Array({_SPAN})))))"
)
_UNNEST = "ARRAY JOIN resource_spans AS rs ARRAY JOIN rs.scope_spans AS ss ARRAY JOIN ss.spans AS s"


def _double(x: str) -> str:
    """ClickHouse writes a double's shortest digits as ECMAScript does, but "1e21" where it writes "1e+21"."""
    return (
        f"multiIf(isNaN({x}), 'NaN', isInfinite({x}), if({x} > 0, '+Inf', '-Inf'), "
        f"replaceOne(toString({x}), 'e', if(abs({x}) >= 1, 'e+', 'e')))"
    )


def _scalar(v: str, json: bool) -> str:
    text = f"toJSONString({v}.string_value)" if json else f"{v}.string_value"
    raw = f"toJSONString(base64Encode({v}.bytes_value))" if json else f"base64Encode({v}.bytes_value)"
    return (
        f"multiIf({v}.value = 'string_value', {text}, {v}.value = 'int_value', toString({v}.int_value), "
        f"{v}.value = 'bool_value', if({v}.bool_value, 'true', 'false'), "
        f"{v}.value = 'double_value', {_double(v + '.double_value')}, {v}.value = 'bytes_value', {raw}, "
        f"{v}.value = 'none', {'null' if json else chr(39) * 2}, '(nested: not re-stated)')"
    )


def _value(v: str) -> str:
    array = f"concat('[', arrayStringConcat(arrayMap(e -> {_scalar('e', True)}, {v}.array_value.values), ','), ']')"
    return f"if({v}.value = 'array_value', {array}, {_scalar(v, False)})"


def _map(attributes: str) -> str:
    return f"mapFromArrays(arrayMap(kv -> kv.key, {attributes}), arrayMap(kv -> {_value('kv.value')}, {attributes}))"


def _hex_or_empty(x: str) -> str:
    return f"if(length(replaceAll({x}, '\\0', '')) = 0, '', lower(hex({x})))"


def _ns(x: str) -> str:
    return f"fromUnixTimestamp64Nano(toInt64(least({x}, 9223372036854775807)))"


def _rows_sql(source: str) -> str:
    """otel_traces rows from the OTLP requests in `source` (a table function)."""
    resource_map = _map("rs.resource.attributes")
    return f"""SELECT
  {_ns("s.start_time_unix_nano")} AS Timestamp,
  lower(hex(s.trace_id)) AS TraceId, lower(hex(s.span_id)) AS SpanId,
  {_hex_or_empty("s.parent_span_id")} AS ParentSpanId, s.trace_state AS TraceState, s.name AS SpanName,
  if(s.kind BETWEEN 0 AND 5, ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'][s.kind + 1], '')
    AS SpanKind,
  {resource_map}['service.name'] AS ServiceName, {resource_map} AS ResourceAttributes,
  ss.scope.name AS ScopeName, ss.scope.version AS ScopeVersion, {_map("s.attributes")} AS SpanAttributes,
  if(s.end_time_unix_nano > s.start_time_unix_nano, s.end_time_unix_nano - s.start_time_unix_nano, 0) AS Duration,
  if(s.status.code BETWEEN 0 AND 2, ['Unset', 'Ok', 'Error'][s.status.code + 1], '') AS StatusCode,
  s.status.message AS StatusMessage,
  arrayMap(e -> {_ns("e.time_unix_nano")}, s.events) AS `Events.Timestamp`,
  arrayMap(e -> e.name, s.events) AS `Events.Name`,
  arrayMap(e -> {_map("e.attributes")}, s.events) AS `Events.Attributes`,
  arrayMap(l -> {_hex_or_empty("l.trace_id")}, s.links) AS `Links.TraceId`,
  arrayMap(l -> {_hex_or_empty("l.span_id")}, s.links) AS `Links.SpanId`,
  arrayMap(l -> l.trace_state, s.links) AS `Links.TraceState`,
  arrayMap(l -> {_map("l.attributes")}, s.links) AS `Links.Attributes`
FROM {source} {_UNNEST}"""


def _edges() -> ExportTraceServiceRequest:
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
        span.status.code, span.status.message = kind % 4, "why" if kind else ""
        span.attributes.extend(attributes)
        span.events.add(time_unix_nano=1_700_000_000_500_000_000, name="event").attributes.extend(attributes[:3])
        link = span.links.add(trace_id=bytes([7] * 16), span_id=b"\0" * 8, trace_state="k=v")
        link.attributes.extend(attributes[3:6])
    return request


def _varint(value: int) -> bytes:
    """A protobuf varint: the length prefix of each message in a length-delimited stream."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _checksums(engine: Engine) -> dict[str, tuple[int, int]]:
    """(distinct rows, their order-independent checksum) per MergeTree table that holds rows, read with
    FINAL (parts merged as a merge would), over every column but when a row was written (lk_call_touch's
    clock and UUID), arrays sorted, sketches as their quantiles and doubles to 6 decimals (the order of
    a merge's additions); the migrations' ledger left out. Distinct, because a view that groups each
    inserted block (lk_call_touch) writes as many rows as blocks."""
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
        if kind.startswith("AggregateFunction("):  # a sketch's bytes depend on the order it was fed in
            column = f"finalizeAggregation({column})"
            column = f"arrayMap(v -> round(v, 6), {column})" if "quantiles" in kind else f"round({column}, 6)"
        elif "Array(" in kind:  # groupUniqArray's order too
            column = f"arraySort({column})"
        elif kind.startswith(
            ("Float", "SimpleAggregateFunction(sum, Float")
        ):  # sums of doubles: the last digits depend on the order of the terms
            column = f"round({column}, 6)"
        columns.setdefault(row["table"], []).append(column)
    out = {}
    for name, names in columns.items():
        rows = f"SELECT DISTINCT {', '.join(names)} FROM `{name}` {'FINAL' if name in final else ''}"
        row = engine.query(f"SELECT count() AS n, groupBitXor(cityHash64(*)) AS h FROM ({rows})")[0]
        if row["n"]:
            out[name] = (int(row["n"]), int(row["h"]))
    return out


def measure(spans: int, tmp: Path) -> tuple[int, list[tuple[str, float]], list[str]]:
    """(spans, [(stage, µs of CPU per span)], tables whose contents differ between the two paths)."""
    batches = [*build_batches(spans, 512, 1), (_edges().SerializeToString(), "")]
    bodies = tmp / "bodies.bin"
    with bodies.open("wb") as out:
        for body, _ in batches:
            out.write(_varint(len(body)))
            out.write(body)
    schema = tmp / "otlp_trace.proto"
    schema.write_text(_SCHEMA)
    settings = (
        f"SETTINGS format_schema = '{schema}:ExportTraceServiceRequest', input_format_protobuf_oneof_presence = 1, "
        "output_format_json_escape_forward_slashes = 0"
    )
    source = f"file('{bodies}', 'Protobuf', '{_STRUCTURE}')"
    n = sum(
        len(ss.spans)
        for b, _ in batches
        for rs in ExportTraceServiceRequest.FromString(b).resource_spans
        for ss in rs.scope_spans
    )
    stages: list[tuple[str, float]] = []

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        cpu0 = _cpu_s()
        result = work()
        stages.append((stage, 1e6 * (_cpu_s() - cpu0) / n))
        return result

    store = open_engine(f"chdb://{tmp / 'store'}")  # one embedded store per process: the two paths in turn
    try:
        apply_migrations(store)
        store.command("CREATE TABLE decoded_null ENGINE = Null AS " + _rows_sql(source) + f" LIMIT 0 {settings}")
        tables = timed(
            "Python: protobuf parse and rows for otel_traces (the server's code)",
            lambda: [prepare_spans(ExportTraceServiceRequest.FromString(b)).tables["otel_traces"] for b, _ in batches],
        )
        rows = pa.concat_tables(tables)

        def insert_rows() -> None:
            for i in range(0, rows.num_rows, 50_000):
                store.insert_arrow("otel_traces", rows.slice(i, 50_000))

        timed("Python path: its rows inserted with the LiveKit views (50,000-row blocks)", insert_rows)
        by_python = _checksums(store)
        for name in by_python:
            store.command(f"TRUNCATE TABLE `{name}`")
        unnest = f"SELECT count() AS n FROM {source} {_UNNEST} {settings}"
        timed("engine: protobuf parse and unnesting the spans", lambda: store.query(unnest))
        timed(
            "engine: parse and rows for otel_traces (into a Null table)",
            lambda: store.command(f"INSERT INTO decoded_null {_rows_sql(source)} {settings}"),
        )
        timed(
            "engine path: parse, rows and insert with the LiveKit views",
            lambda: store.command(f"INSERT INTO otel_traces {_rows_sql(source)} {settings}"),
        )
        by_engine = _checksums(store)
    finally:
        store.close()
    return (
        n,
        stages,
        sorted(name for name in set(by_python) | set(by_engine) if by_python.get(name) != by_engine.get(name)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=100_000, help="spans to decode both ways")
    args = parser.parse_args()
    print(f"decoding {args.spans} LiveKit-mix spans in Python and in the engine ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="lkd-bench-") as tmp:
        n, stages, differ = measure(args.spans, Path(tmp))
    print(f"\n| stage ({n:,} spans, one process) | µs CPU per span |")
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
