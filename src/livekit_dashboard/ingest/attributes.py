"""Attributes: OTLP AnyValue/KeyValue -> the strings the Collector's ClickHouse schema stores.

Values are rendered as the Collector renders them (pdata's AsString): strings as is, booleans
as true/false, doubles like a JavaScript number, bytes as base64, arrays and maps as Go's JSON
(tests/collector_exporter.py re-states the exporter; tests/ingest/test_collector_path.py compares).
One difference is kept: a NaN or infinite double alone is "NaN"/"+Inf"/"-Inf" here, where pdata
writes "json: unsupported value: NaN" (a number parser reads ours).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "any_value_to_raw",
    "any_value_to_str",
    "attributes_to_pairs",
    "format_double",
    "service_name",
]


def format_double(value: float) -> str:
    """A float as ECMAScript's Number::toString writes it (what the Collector stores)."""
    if math.isnan(value) or math.isinf(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"  # Go's strconv keeps the sign
    magnitude = abs(value)
    if value.is_integer() and magnitude < 1e16:  # where repr writes every digit (and ".0")
        return str(int(value))  # from 1e16 on Go writes the shortest digits padded with zeros, as below
    text = repr(value)
    if 1e-6 <= magnitude < 1e21:
        if "e" in text:
            text = format(Decimal(text), "f")
        return text
    mantissa, _, exponent = text.partition("e")
    exp = int(exponent)
    return f"{mantissa}e{'+' if exp > 0 else '-'}{abs(exp)}"


def any_value_to_raw(value: AnyValue) -> Any:
    """An AnyValue as a JSON-able python value (used inside arrays and maps)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        d = value.double_value
        return d if math.isfinite(d) else format_double(d)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if kind == "array_value":
        return [any_value_to_raw(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value_to_raw(kv.value) for kv in value.kvlist_value.values}
    return None


def any_value_to_str(value: AnyValue) -> str:
    """An AnyValue as the string stored in a Map(String, String) column or a log Body."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return str(value.int_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "double_value":
        return format_double(value.double_value)
    if kind is None:
        return ""
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    try:
        return _go_json(value)
    except _NonFiniteError:
        return ""  # pdata: json.Marshal refuses NaN and infinities, AsString gives ""


class _NonFiniteError(ValueError):
    pass


def _go_json(value: AnyValue) -> str:
    """An array or map as pdata's AsString writes it (Go's encoding/json of AsRaw(), HTML characters not
    escaped): map keys sorted, the last of duplicate keys kept, doubles as ECMAScript numbers, bytes as
    base64, U+2028 and U+2029 escaped."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return "[" + ",".join(_go_json(item) for item in value.array_value.values) + "]"
    if kind == "kvlist_value":
        items = {kv.key: kv.value for kv in value.kvlist_value.values}
        return "{" + ",".join(f"{_go_string(key)}:{_go_json(items[key])}" for key in sorted(items)) + "}"
    if kind == "double_value":
        if not math.isfinite(value.double_value):
            raise _NonFiniteError
        return format_double(value.double_value)
    if kind == "string_value":
        return _go_string(value.string_value)
    if kind == "bytes_value":
        return _go_string(base64.b64encode(value.bytes_value).decode("ascii"))
    return json.dumps(any_value_to_raw(value))  # int, bool, empty (null)


def _go_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def attributes_to_pairs(attributes: Iterable[KeyValue]) -> list[tuple[str, str]]:
    """KeyValue list -> (key, string) pairs; the last of duplicate keys wins, as in a map."""
    pairs: dict[str, str] = {}
    for kv in attributes:
        value = kv.value
        # the common case first: most LiveKit attributes are strings
        if value.WhichOneof("value") == "string_value":
            pairs[kv.key] = value.string_value
        else:
            pairs[kv.key] = any_value_to_str(value)
    return list(pairs.items())


def service_name(resource_pairs: list[tuple[str, str]]) -> str:
    """The ServiceName column: the resource's service.name, empty when absent (as the Collector)."""
    for key, value in resource_pairs:
        if key == "service.name":
            return value
    return ""
