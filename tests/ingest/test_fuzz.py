"""Property-based fuzzing of decode + store: whatever the body, decoding either succeeds or raises
DecodeError (a 4xx), the valid records are stored, and the invalid ones are counted as rejected."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from livekit_dashboard.ingest.decode import DecodeError, Encoding, Signal, decompress, parse_request
from livekit_dashboard.ingest.logs import prepare_logs
from livekit_dashboard.ingest.metrics import prepare_metrics
from livekit_dashboard.ingest.spans import prepare_spans
from livekit_dashboard.store import Engine

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PREPARE = {Signal.TRACES: prepare_spans, Signal.LOGS: prepare_logs, Signal.METRICS: prepare_metrics}

scalars = st.one_of(
    st.text(max_size=50).map(lambda s: AnyValue(string_value=s)),
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(lambda i: AnyValue(int_value=i)),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: AnyValue(double_value=f)),
    st.booleans().map(lambda b: AnyValue(bool_value=b)),
    st.binary(max_size=20).map(lambda b: AnyValue(bytes_value=b)),
    st.just(AnyValue()),
)


def _nest(children: st.SearchStrategy[AnyValue]) -> st.SearchStrategy[AnyValue]:
    arrays = st.lists(children, max_size=3).map(lambda vs: _array(vs))
    maps = st.lists(st.tuples(st.text(max_size=8), children), max_size=3).map(lambda kvs: _kvlist(kvs))
    return st.one_of(arrays, maps)


def _array(values: list[AnyValue]) -> AnyValue:
    value = AnyValue()
    value.array_value.values.extend(values)
    return value


def _kvlist(pairs: list[tuple[str, AnyValue]]) -> AnyValue:
    value = AnyValue()
    value.kvlist_value.values.extend(KeyValue(key=k, value=v) for k, v in pairs)
    return value


any_values = st.recursive(scalars, _nest, max_leaves=12)
attributes = st.lists(st.tuples(st.text(max_size=30), any_values), max_size=8)
ids = st.one_of(
    st.binary(min_size=0, max_size=20), st.binary(min_size=16, max_size=16), st.binary(min_size=8, max_size=8)
)
times = st.one_of(st.just(0), st.just(2**64 - 1), st.just(2**63 - 1), st.integers(min_value=0, max_value=2**64 - 1))


@st.composite
def trace_requests(draw: Any) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = request.resource_spans.add()
        for key, value in draw(attributes):
            rs.resource.attributes.add(key=key, value=value)
        ss = rs.scope_spans.add()
        ss.scope.name = draw(st.text(max_size=20))
        for _ in range(draw(st.integers(0, 4))):
            span = ss.spans.add(
                trace_id=draw(ids),
                span_id=draw(ids),
                parent_span_id=draw(ids),
                name=draw(st.text(max_size=30)),
                kind=draw(st.integers(0, 5)),
                start_time_unix_nano=draw(times),
                end_time_unix_nano=draw(times),
            )
            for key, value in draw(attributes):
                span.attributes.add(key=key, value=value)
            for _ in range(draw(st.integers(0, 2))):
                event = span.events.add(name=draw(st.text(max_size=10)), time_unix_nano=draw(times))
                for key, value in draw(attributes):
                    event.attributes.add(key=key, value=value)
            if draw(st.booleans()):
                span.links.add(trace_id=draw(ids), span_id=draw(ids))
            span.status.code = draw(st.integers(0, 2))
    return request


@st.composite
def log_requests(draw: Any) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    for _ in range(draw(st.integers(0, 5))):
        record = scope.log_records.add(
            time_unix_nano=draw(times),
            observed_time_unix_nano=draw(times),
            trace_id=draw(ids),
            span_id=draw(ids),
            severity_number=draw(st.integers(0, 24)),
            flags=draw(st.integers(0, 2**32 - 1)),
        )
        record.body.CopyFrom(draw(any_values))
        for key, value in draw(attributes):
            record.attributes.add(key=key, value=value)
    return request


def _accepted_or_refused(work: Any, statuses: tuple[int, ...] = (400,)) -> None:
    """The only failure allowed is a DecodeError that maps to a 4xx."""
    try:
        work()
    except DecodeError as err:
        status = err.status
    else:
        return
    assert status in statuses


def _store(engine: Engine, prepared: Any) -> None:
    for table, data in prepared.tables.items():
        engine.insert_arrow(table, data)


@FUZZ
@given(request=trace_requests())
def test_structured_spans_store_the_valid_ones(engine: Engine, request: ExportTraceServiceRequest) -> None:
    total = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    before = engine.query("SELECT count() AS n FROM otel_traces")[0]["n"]
    for encoding in (Encoding.PROTOBUF, Encoding.JSON):
        body = request.SerializeToString() if encoding is Encoding.PROTOBUF else _otlp_json(request)
        prepared = prepare_spans(parse_request(Signal.TRACES, encoding, body))
        assert prepared.accepted + prepared.rejected == total
        if encoding is Encoding.PROTOBUF:
            _store(engine, prepared)
            after = engine.query("SELECT count() AS n FROM otel_traces")[0]["n"]
            assert after - before == prepared.accepted
            expected_valid = prepared.accepted
        else:  # the JSON encoding of the same request decodes to the same verdicts
            assert prepared.accepted == expected_valid


@FUZZ
@given(request=log_requests())
def test_structured_logs_store_the_valid_ones(engine: Engine, request: ExportLogsServiceRequest) -> None:
    total = len(request.resource_logs[0].scope_logs[0].log_records)
    prepared = prepare_logs(parse_request(Signal.LOGS, Encoding.PROTOBUF, request.SerializeToString()))
    assert prepared.accepted + prepared.rejected == total
    before = engine.query("SELECT count() AS n FROM otel_logs")[0]["n"]
    _store(engine, prepared)
    assert engine.query("SELECT count() AS n FROM otel_logs")[0]["n"] - before == prepared.accepted


@settings(max_examples=300, deadline=None)
@given(signal=st.sampled_from(list(Signal)), encoding=st.sampled_from(list(Encoding)), body=st.binary(max_size=300))
def test_random_bytes_only_ever_raise_decode_errors(signal: Signal, encoding: Encoding, body: bytes) -> None:
    _accepted_or_refused(lambda: PREPARE[signal](parse_request(signal, encoding, body)))


@settings(max_examples=100, deadline=None)
@given(request=trace_requests(), cut=st.integers(min_value=1, max_value=10_000))
def test_truncated_bodies(request: ExportTraceServiceRequest, cut: int) -> None:
    body = request.SerializeToString()
    for encoding, data in ((Encoding.PROTOBUF, body[:-cut]), (Encoding.JSON, _otlp_json(request)[:-cut])):
        _accepted_or_refused(lambda e=encoding, d=data: PREPARE[Signal.TRACES](parse_request(Signal.TRACES, e, d)))


@settings(max_examples=60, deadline=None)
@given(
    json_doc=st.recursive(
        st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=10), st.integers()),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(
                st.sampled_from(
                    [
                        "resourceSpans",
                        "scopeSpans",
                        "spans",
                        "traceId",
                        "spanId",
                        "name",
                        "attributes",
                        "key",
                        "value",
                        "stringValue",
                        "intValue",
                        "events",
                        "x",
                    ]
                ),
                children,
                max_size=4,
            ),
        ),
        max_leaves=30,
    )
)
def test_random_json_shapes(json_doc: Any) -> None:
    body = json.dumps(json_doc).encode()
    _accepted_or_refused(lambda: PREPARE[Signal.TRACES](parse_request(Signal.TRACES, Encoding.JSON, body)))


def test_extremes(engine: Engine) -> None:
    request = ExportTraceServiceRequest()
    span = (
        request.resource_spans.add()
        .scope_spans.add()
        .spans.add(
            trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="big", start_time_unix_nano=0, end_time_unix_nano=2**63 - 1
        )
    )
    for i in range(10_000):
        span.attributes.add(key=f"k{i}", value=AnyValue(string_value="v"))
    span.attributes.add(key="huge", value=AnyValue(string_value="x" * 5_000_000))
    span.attributes.add(key="nan", value=AnyValue(double_value=math.nan))
    deep = AnyValue(string_value="leaf")
    for _ in range(30):  # 60 message levels: within protobuf's limit of 100
        deep = _array([deep])
    span.attributes.add(key="deep", value=deep)
    prepared = prepare_spans(parse_request(Signal.TRACES, Encoding.PROTOBUF, request.SerializeToString()))
    assert prepared.accepted == 1
    _store(engine, prepared)
    row = engine.query(
        "SELECT length(SpanAttributes) AS n, length(SpanAttributes['huge']) AS h, "
        "SpanAttributes['nan'] AS nan, Duration AS d FROM otel_traces"
    )[0]
    assert row == {"n": 10_003, "h": 5_000_000, "nan": "NaN", "d": 2**63 - 1}
    # past protobuf's nesting limit the body is refused as malformed (400), not a crash
    with pytest.raises(DecodeError) as err:
        parse_request(Signal.TRACES, Encoding.PROTOBUF, _deep_trace_body(300))
    assert err.value.status == 400


def test_invalid_utf8_is_refused_or_replaced() -> None:
    span = _len_field(1, b"\x01" * 16) + _len_field(2, b"\x02" * 8) + _len_field(5, b"bad \xff\xfe name")
    body = _len_field(1, _len_field(2, _len_field(2, span)))
    _accepted_or_refused(lambda: PREPARE[Signal.TRACES](parse_request(Signal.TRACES, Encoding.PROTOBUF, body)))
    _accepted_or_refused(
        lambda: PREPARE[Signal.TRACES](parse_request(Signal.TRACES, Encoding.JSON, b'{"resourceSpans": "\xff\xfe"}'))
    )


def _len_field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field, written by hand (SDK objects refuse this depth)."""
    size, varint = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        varint.append(byte | (0x80 if size else 0))
        if not size:
            break
    return bytes([number << 3 | 2]) + bytes(varint) + payload


def _deep_trace_body(depth: int) -> bytes:
    value = AnyValue(string_value="leaf").SerializeToString()
    for _ in range(depth):  # AnyValue.array_value (5) -> ArrayValue.values (1) -> AnyValue
        value = _len_field(5, _len_field(1, value))
    attribute = _len_field(1, b"deep") + _len_field(2, value)
    span = _len_field(1, b"\x01" * 16) + _len_field(2, b"\x02" * 8) + _len_field(5, b"deep") + _len_field(9, attribute)
    # ExportTraceServiceRequest.resource_spans (1) -> scope_spans (2) -> spans (2)
    return _len_field(1, _len_field(2, _len_field(2, span)))


def test_gzip_garbage() -> None:
    for body in (b"\x1f\x8b" + b"\x00" * 20, b"\x1f\x8b\x08\x00" + bytes(range(256)), b""):
        _accepted_or_refused(lambda b=body: decompress(b, "gzip", 1024), statuses=(400, 413))


def _otlp_json(message: Any) -> bytes:
    def hexify(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (
                    __import__("base64").b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else hexify(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [hexify(v) for v in node]
        return node

    return json.dumps(hexify(json_format.MessageToDict(message))).encode()
