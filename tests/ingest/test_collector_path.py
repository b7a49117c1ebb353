"""The Collector path: the same OTLP requests, (a) through our OTLP endpoint and (b) as the Collector's
ClickHouse exporter writes them (tests/collector_exporter.py) straight into a second server's database,
fill the raw tables with the same rows, every derived lk_* table the same, and every panel, call page,
trace and log answer the same (tests/parity.py)."""

from __future__ import annotations

import gzip
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, SeverityNumber
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality, Exemplar, Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.server import DashboardServer
from livekit_dashboard.store import Engine
from tests.collector_exporter import INSERTS, any_value_as_string, insert_request, span_rows
from tests.conftest import DatabasePool, serving
from tests.parity import differences, snapshot, window

FIXTURES = Path(__file__).parent.parent / "fixtures" / "livekit"
SCENARIOS = ("pipeline_audio", "realtime_tools", "no_pii", "delta_metrics")
MESSAGES: dict[str, Any] = {
    "traces": ExportTraceServiceRequest,
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}
Request = tuple[str, bytes]  # (signal, OTLP protobuf body)


class _Capture(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that keeps each request body and answers success."""

    bodies: list[Request]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.bodies.append((self.path.rsplit("/", 1)[-1], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def demo_requests(config: DemoConfig) -> list[Request]:
    """The bodies the demo generator's real OTLP/HTTP exporters send, in order."""

    class Handler(_Capture):
        bodies: list[Request] = []  # one list per call of demo_requests

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        generate(config, f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
    return list(Handler.bodies)


def recorded_requests() -> list[Request]:
    """Bodies recorded from real livekit-agents 1.8.9 sessions (tests/fixtures/livekit/README.md)."""
    out: list[Request] = []
    for scenario in SCENARIOS:
        folder = FIXTURES / scenario
        for path in sorted(folder.glob("*.pb")):
            signal = "metrics" if path.name.startswith("metrics") else path.stem
            out.append((signal, path.read_bytes()))
    return out


def _kv(key: str, **value: Any) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def edge_requests(start_ns: int) -> list[Request]:
    """One call's worth of values whose encodings differ easily: every AnyValue kind, doubles that are
    integral, tiny, huge or negative zero, arrays of doubles, maps (sorted by Go), JSON-hostile text,
    an all-zero parent span id, a log without trace context and with a map body, an event name, links,
    an int-valued histogram exemplar without ids."""
    trace_id, root_id, child_id = bytes(range(1, 17)), bytes(range(1, 9)), bytes(range(9, 17))
    array = AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=100.0), AnyValue(double_value=1e-7)]))
    kvlist = KeyValueList(values=[KeyValue(key="z", value=AnyValue(int_value=1)), KeyValue(key="a", value=array)])
    attrs = [
        _kv("lk.room_name", string_value="edge-room"),
        _kv("lk.job_id", string_value="AJ_edge"),
        _kv("lk.e2e_latency", double_value=1.0),
        _kv("lk.response.ttft", double_value=0.000000123),
        _kv("big", double_value=1.5e21),
        _kv("integral", double_value=2.0**60),
        _kv("negzero", double_value=-0.0),
        _kv("count", int_value=-7),
        _kv("flag", bool_value=False),
        _kv("raw", bytes_value=b"\x00\xff"),
        _kv("doubles", array_value=array.array_value),
        _kv("nested", kvlist_value=kvlist),
        _kv("text", array_value=ArrayValue(values=[AnyValue(string_value='<a href="x">&\u2028\x01\t')])),
        _kv("empty", string_value=""),
    ]
    resource = [_kv("service.name", string_value="edge-agent"), _kv("pid", int_value=42)]
    traces = ExportTraceServiceRequest()
    scope_spans = traces.resource_spans.add()
    scope_spans.resource.attributes.extend(resource)
    spans = scope_spans.scope_spans.add()
    spans.scope.name, spans.scope.version = "livekit-agents", "1.8.9"
    root = Span(
        trace_id=trace_id,
        span_id=root_id,
        parent_span_id=bytes(8),
        name="agent_session",
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=start_ns + 5 * 10**9,
        attributes=attrs,
        status=Status(code=Status.STATUS_CODE_OK),
    )
    root.events.add(time_unix_nano=start_ns + 10**9, name="marker", attributes=[_kv("n", double_value=2.5)])
    child = Span(
        trace_id=trace_id,
        span_id=child_id,
        parent_span_id=root_id,
        name="llm_request",
        kind=Span.SPAN_KIND_CLIENT,
        start_time_unix_nano=start_ns + 10**9,
        end_time_unix_nano=start_ns + 2 * 10**9,
        attributes=[_kv("gen_ai.usage.input_tokens", int_value=100), _kv("gen_ai.usage.output_tokens", int_value=20)],
        status=Status(code=Status.STATUS_CODE_ERROR, message="boom"),
    )
    child.links.add(trace_id=trace_id, span_id=root_id, trace_state="k=v", attributes=[_kv("why", bool_value=True)])
    odd = Span(  # an enum value this proto does not know (a newer SDK's), ids only as zeros on the link
        trace_id=trace_id,
        span_id=bytes(range(17, 25)),
        parent_span_id=root_id,
        name="odd",
        kind=9,  # type: ignore[arg-type]
        start_time_unix_nano=start_ns + 2 * 10**9,
        end_time_unix_nano=start_ns + 3 * 10**9,
        status=Status(code=7),  # type: ignore[arg-type]
    )
    odd.links.add(trace_id=bytes(16), span_id=bytes(8))
    spans.spans.extend([root, child, odd])

    logs = ExportLogsServiceRequest()
    resource_logs = logs.resource_logs.add()
    resource_logs.resource.attributes.extend(resource)
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "livekit.agents"
    scope_logs.scope.attributes.append(_kv("scope.flag", bool_value=True))
    scope_logs.log_records.extend(
        [
            LogRecord(  # no trace context, written as zero ids (as some SDKs do) and a map body
                trace_id=bytes(16),
                span_id=bytes(8),
                observed_time_unix_nano=start_ns + 3 * 10**9,
                severity_number=SeverityNumber.SEVERITY_NUMBER_WARN,
                severity_text="WARN",
                body=AnyValue(kvlist_value=kvlist),
                attributes=[_kv("code.line.number", int_value=12)],
                event_name="lk.edge",
            ),
            LogRecord(
                time_unix_nano=start_ns + 4 * 10**9,
                trace_id=trace_id,
                span_id=child_id,
                flags=0x101,
                severity_number=SeverityNumber.SEVERITY_NUMBER_ERROR,
                severity_text="ERROR",
                body=AnyValue(string_value="failed"),
            ),
        ]
    )

    metrics = ExportMetricsServiceRequest()
    resource_metrics = metrics.resource_metrics.add()
    resource_metrics.resource.attributes.extend(resource)
    scope_metrics = resource_metrics.scope_metrics.add()
    histogram = Metric(name="lk.agents.turn.e2e_latency", unit="s")
    point = histogram.histogram.data_points.add(
        start_time_unix_nano=start_ns, time_unix_nano=start_ns + 5 * 10**9, count=2, sum=1.5
    )
    point.bucket_counts.extend([0, 2, 0])
    point.explicit_bounds.extend([0.5, 2.0])
    point.attributes.append(_kv("lk.job_id", string_value="AJ_edge"))
    point.exemplars.append(Exemplar(time_unix_nano=start_ns + 10**9, as_int=1))
    histogram.histogram.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    counter = Metric(name="lk.agents.llm.prompt_tokens", unit="{token}")
    counter.sum.data_points.add(start_time_unix_nano=start_ns, time_unix_nano=start_ns + 5 * 10**9, as_int=100)
    counter.sum.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    counter.sum.is_monotonic = True
    gauge = Metric(name="edge.gauge")
    gauge.gauge.data_points.add(time_unix_nano=start_ns + 5 * 10**9, as_double=-0.0)
    scope_metrics.metrics.extend([histogram, counter, gauge])
    return [
        ("traces", traces.SerializeToString()),
        ("logs", logs.SerializeToString()),
        ("metrics", metrics.SerializeToString()),
    ]


def through_our_endpoint(server: DashboardServer, requests: list[Request]) -> None:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        for signal, body in requests:
            response = client.post(f"/v1/{signal}", content=body, headers={"Content-Type": "application/x-protobuf"})
            assert response.status_code == 200, response.text
            assert b"rejected" not in response.content, response.content
    assert server.ingestor.wait_visible(timeout_s=60)


def through_the_exporter(server: DashboardServer, requests: list[Request]) -> None:
    for signal, body in requests:
        insert_request(server.engine, signal, MESSAGES[signal].FromString(body))


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    def plain(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return "NaN"
        return value

    return sorted(json.dumps({k: plain(v) for k, v in row.items()}, sort_keys=True, default=str) for row in rows)


def raw_differences(a: Engine, b: Engine) -> list[str]:
    """Raw tables whose rows differ (as multisets of whole rows), with an example row from each side."""
    found = []
    for table in INSERTS:
        left, right = _canonical(a.query(f"SELECT * FROM {table}")), _canonical(b.query(f"SELECT * FROM {table}"))
        if left != right:
            only_left, only_right = sorted(set(left) - set(right)), sorted(set(right) - set(left))
            columns = ""
            if only_left and only_right:  # the first of each: which columns part them
                row_a, row_b = json.loads(only_left[0]), json.loads(only_right[0])
                columns = ", ".join(
                    f"{k}: {row_a.get(k)!r} against {row_b.get(k)!r}" for k in row_a if row_a.get(k) != row_b.get(k)
                )
            found.append(
                f"{table}: {len(only_left)} of {len(left)} rows against {len(only_right)} of {len(right)}; {columns}"
            )
    return found


def derived_tables(engine: Engine) -> list[dict[str, Any]]:
    rows = engine.query(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() "
        "AND name LIKE 'lk\\_%' AND engine LIKE '%MergeTree' ORDER BY name"
    )
    return [row for row in rows if row["name"] not in BOOKKEEPING]


def derived_contents(engine: Engine, table: str, table_engine: str) -> list[str]:
    """Rows of a derived table, merged (FINAL) unless it is a plain MergeTree, with aggregate states
    finalized, without the columns that say when a row was written."""
    columns = engine.query(
        "SELECT name, type, default_kind, default_expression FROM system.columns "
        "WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
        {"t": table},
    )
    exprs = []
    for column in columns:
        if "now" in column["default_expression"] or column["name"] in VOLATILE_COLUMNS:
            continue
        name = f"`{column['name']}`"
        exprs.append(
            f"finalizeAggregation({name}) AS {name}" if column["type"].startswith("AggregateFunction") else name
        )
    final = "" if table_engine == "MergeTree" else " FINAL"
    # a queue holds a row per insert block that touched a call: which calls were touched is the data
    distinct = "DISTINCT " if table in QUEUES else ""
    return _canonical(engine.query(f"SELECT {distinct}{', '.join(exprs)} FROM `{table}`{final}"))


# when a row was written, and a row's own random id: not what the data says
VOLATILE_COLUMNS = frozenset({"settled_at", "SettledAt", "TouchedAt", "TouchId", "WrittenAt"})
QUEUES = frozenset({"lk_call_touch"})
# how far each server's settling has got (a time): not data
BOOKKEEPING = frozenset({"lk_settle_state"})


@pytest.fixture(scope="module")
def fed(
    chdb_dir: Path, database_pool: DatabasePool
) -> Iterator[tuple[DashboardServer, DashboardServer, dict[str, str]]]:
    """Two servers fed the same requests, ours through its endpoint, the other as the Collector would."""
    recorded = recorded_requests()
    spans = [
        span.end_time_unix_nano
        for signal, body in recorded
        if signal == "traces"
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    end_ns = max(spans) + 30 * 60 * 10**9
    requests = [
        *demo_requests(DemoConfig(calls=16, days=0.2, seed=7, end_ns=end_ns)),
        *recorded,
        *edge_requests(end_ns - 20 * 60 * 10**9),
    ]
    with serving(chdb_dir, database_pool) as ours, serving(chdb_dir, database_pool) as collector:
        through_our_endpoint(ours, requests)
        through_the_exporter(collector, requests)
        for server in (ours, collector):
            # the settle loop runs every few seconds (and before a read of the records): settle now
            server.call_records.settle()
        yield ours, collector, window(end_ns - int(0.25 * 86400 * 10**9), end_ns + 3600 * 10**9)


def test_exporter_rows_fill_the_raw_tables_as_our_ingest_does(
    fed: tuple[DashboardServer, DashboardServer, dict[str, str]],
) -> None:
    ours, collector, _ = fed
    assert ours.engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] > 500
    found = raw_differences(ours.engine, collector.engine)
    assert found == [], "\n".join(found)


def test_every_derived_table_fills_the_same(fed: tuple[DashboardServer, DashboardServer, dict[str, str]]) -> None:
    ours, collector, _ = fed
    tables = derived_tables(ours.engine)
    assert tables == derived_tables(collector.engine)
    assert len(tables) > 5
    filled, different = 0, []
    for row in tables:
        left = derived_contents(ours.engine, row["name"], row["engine"])
        right = derived_contents(collector.engine, row["name"], row["engine"])
        filled += bool(left)
        if left != right:
            different.append(f"{row['name']} ({row['engine']}): {len(left)} rows against {len(right)}")
    assert different == [], "\n".join(different)
    assert filled > len(tables) // 2


def test_every_panel_and_page_reads_the_same(fed: tuple[DashboardServer, DashboardServer, dict[str, str]]) -> None:
    ours, collector, range_ = fed
    a, b = snapshot(ours.base_url, range_, calls=40), snapshot(collector.base_url, range_, calls=40)
    assert len([key for key in a if key.startswith("call ")]) >= 16 + len(SCENARIOS)
    assert differences(a, b) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (AnyValue(double_value=100.0), "100"),
        (AnyValue(double_value=1e-7), "1e-7"),
        (AnyValue(double_value=1.5e21), "1.5e+21"),
        (AnyValue(double_value=123456.789), "123456.789"),
        (AnyValue(double_value=-0.0), "-0"),
        (AnyValue(double_value=math.inf), "json: unsupported value: +Inf"),
        (AnyValue(int_value=-5), "-5"),
        (AnyValue(bool_value=True), "true"),
        (AnyValue(bytes_value=b"\x00\x01"), "AAE="),
        (
            AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=2.0), AnyValue(string_value="<\u2028")])),
            '[2,"<\\u2028"]',
        ),
        (
            AnyValue(kvlist_value=KeyValueList(values=[_kv("b", int_value=1), _kv("a", array_value=ArrayValue())])),
            '{"a":[],"b":1}',
        ),
        (AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=math.nan)])), ""),
        (AnyValue(), ""),
    ],
)
def test_the_restatement_renders_values_as_pdata(value: AnyValue, text: str) -> None:
    """The re-statement's AsString, on the cases pdata's own tests and source settle."""
    assert any_value_as_string(value) == text


def test_the_differences_kept_are_these() -> None:
    """Where our ingest still stores other values than the exporter, on purpose: a NaN or infinite double
    (ours "NaN", which number parsers read; pdata's "json: unsupported value: NaN"), a span that ends
    before it starts (ours Duration 0; the exporter's uint64 subtraction wraps around), and a duplicated
    service.name (ours the last; pdata's Map.Get the first)."""
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        [_kv("service.name", string_value="first"), _kv("service.name", string_value="last")]
    )
    resource_spans.scope_spans.add().spans.append(
        Span(
            trace_id=bytes(range(1, 17)),
            span_id=bytes(range(1, 9)),
            name="backwards",
            start_time_unix_nano=2_000,
            end_time_unix_nano=1_000,
            attributes=[_kv("nan", double_value=math.nan), _kv("inf", double_value=-math.inf)],
        )
    )
    ours = prepare_spans(request).tables["otel_traces"].to_pylist()[0]
    theirs = span_rows(request)[0]
    assert (dict(ours["SpanAttributes"]), ours["Duration"], ours["ServiceName"]) == (
        {"nan": "NaN", "inf": "-Inf"},
        0,
        "last",
    )
    assert (theirs["SpanAttributes"], theirs["Duration"], theirs["ServiceName"]) == (
        {"nan": "json: unsupported value: NaN", "inf": "json: unsupported value: -Inf"},
        2**64 - 1_000,
        "first",
    )
