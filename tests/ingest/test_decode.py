"""Decoding rules, without a server: content types, gzip limits, OTLP/JSON ids, value rendering."""

from __future__ import annotations

import gzip
import math

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from livekit_dashboard.ingest.attributes import any_value_to_str, attributes_to_pairs, format_double
from livekit_dashboard.ingest.decode import (
    DecodeError,
    Encoding,
    Signal,
    decompress,
    encoding_for_content_type,
    parse_request,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/x-protobuf", Encoding.PROTOBUF),
        ("application/protobuf", Encoding.PROTOBUF),
        ("Application/JSON; charset=utf-8", Encoding.JSON),
    ],
)
def test_content_types(header: str, expected: Encoding) -> None:
    assert encoding_for_content_type(header) is expected


def test_unknown_content_type_names_it() -> None:
    with pytest.raises(DecodeError) as err:
        encoding_for_content_type("text/csv")
    assert err.value.status == 415
    assert "'text/csv'" in err.value.message


def test_gzip_within_limit_round_trips() -> None:
    assert decompress(gzip.compress(b"x" * 1000), "gzip", 1000) == b"x" * 1000
    assert decompress(b"raw", None, 10) == b"raw"


def test_gzip_one_byte_over_limit_is_413() -> None:
    with pytest.raises(DecodeError) as err:
        decompress(gzip.compress(b"x" * 1001), "gzip", 1000)
    assert err.value.status == 413


def test_json_hex_ids_become_bytes() -> None:
    body = (
        b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"5B8EFFF798038103D269B633813FC60C",'
        b'"spanId":"eee19b7ec3c1b174","severityNumber":"SEVERITY_NUMBER_WARN","body":{"stringValue":"hi"}}]}]}]}'
    )
    request = parse_request(Signal.LOGS, Encoding.JSON, body)
    record = request.resource_logs[0].scope_logs[0].log_records[0]
    assert record.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert record.span_id.hex() == "eee19b7ec3c1b174"
    assert record.severity_number == 13


def test_json_snake_case_and_exemplar_ids() -> None:
    body = (
        b'{"resource_metrics":[{"scope_metrics":[{"metrics":[{"name":"m","gauge":{"data_points":[{"as_int":"3",'
        b'"exemplars":[{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","as_double":1}]}]}}]}]}]}'
    )
    request = parse_request(Signal.METRICS, Encoding.JSON, body)
    point = request.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]
    assert point.as_int == 3
    assert point.exemplars[0].trace_id.hex() == "0102030405060708090a0b0c0d0e0f10"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.25, "0.25"),
        (1e-7, "1e-7"),
        (1.5e21, "1.5e+21"),
        (2.0**60, "1152921504606847000"),  # Go's shortest digits, not the exact 1152921504606846976
        (float(2**53), "9007199254740992"),
        (-1e20, "-100000000000000000000"),
        (-3.5, "-3.5"),
        (123456.789, "123456.789"),
        (math.inf, "+Inf"),
        (math.nan, "NaN"),
    ],
)
def test_doubles_render_like_the_collector(value: float, text: str) -> None:
    assert format_double(value) == text


def test_any_values_render_like_the_collector() -> None:
    nested = AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key="a", value=AnyValue(int_value=1))]))
    array = AnyValue(array_value=ArrayValue(values=[AnyValue(string_value="x"), AnyValue(bool_value=True), nested]))
    assert any_value_to_str(array) == '["x",true,{"a":1}]'
    assert any_value_to_str(AnyValue(bytes_value=b"\x00\x01")) == "AAE="
    assert any_value_to_str(AnyValue()) == ""
    pairs = attributes_to_pairs(
        [
            KeyValue(key="k", value=AnyValue(int_value=-5)),
            KeyValue(key="k", value=AnyValue(string_value="last wins")),
            KeyValue(key="b", value=AnyValue(bool_value=False)),
        ]
    )
    assert pairs == [("k", "last wins"), ("b", "false")]
