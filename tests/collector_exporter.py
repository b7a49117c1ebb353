"""What the OpenTelemetry Collector's ClickHouse exporter (`clickhouseexporter`) writes, re-stated in Python
for tests: OTLP export requests in (the protobuf messages an SDK sends), the exporter's rows out, inserted
with the exporter's own INSERT column lists.

Source read (open-telemetry/opentelemetry-collector-contrib, `main` of late 2025, the native
clickhouse-go `driver.Conn`/`PrepareBatch` generation with `internal/sqltemplates` and
`internal/metrics`, semconv v1.38.0; one tag could not be pinned, so the blob commits are named):

- exporter/clickhouseexporter/exporter_traces.go (ff7a9465) and internal/sqltemplates/traces_insert.sql
  (61540ced): one row per span, columns below, `span.Kind().String()`, `Status().Code().String()`,
  Duration = EndTimestamp - StartTimestamp as uint64, ids by `traceutil.*ToHexOrEmptyString`;
- exporter/clickhouseexporter/exporter_logs.go (cd1a2501, 0801b465) and internal/sqltemplates/
  logs_insert.sql (2cbebc60): the observed time when the event time is 0, TraceFlags and
  SeverityNumber as uint8, Body by `AsString()` (0801b465 and earlier; cd1a2501 passed `Body().Str()`,
  "" for a non-string body: not re-stated), and the "feature" columns the newest template appends
  after LogAttributes. Which feature columns the newest Go code appends was not found in what could
  be read: EventName is assumed (our otel_logs has it; the exporter's own DDL, 169e3b3e, does not,
  so an older exporter leaves it '' - only the log entry page shows it);
- exporter/clickhouseexporter/internal/metrics/{metrics_model,gauge,sum,histogram,
  exponential_histogram,summary}_metrics.go (054bd016, 200fe055, 1c7d775d, 071a999c, 196b36b1) and
  internal/sqltemplates/metrics_*_insert.sql: `AttributesToMap` (pdata order, `Value.AsString()`),
  `GetServiceName` (`service.name` as `AsString()`, else ""), `getValue` (int points as float64),
  exemplar ids by `hex.EncodeToString` of the fixed-size id (an absent id is all zeros, not "");
- go.opentelemetry.io/collector/pdata/pcommon/value.go: `AsString` (ints decimal, doubles as ES6
  numbers, non-finite doubles as "json: unsupported value: NaN", bools true/false, bytes base64,
  maps and slices as Go encoding/json of `AsRaw()`: map keys sorted, HTML characters not escaped in
  the newest pdata, U+2028/U+2029 escaped, a non-finite double inside makes the whole string "").

The same: the rows (every column value, its encoding, row order within a request) and the INSERT
column list and order, read from the statement texts below. Not the same: the real exporter sends
its rows over clickhouse-go's native protocol in one `PrepareBatch`/`Send` per pushed batch and per
table (a `batch` processor may merge requests first); here each request becomes one Arrow table with
the statement's columns, inserted through our `Engine.insert_arrow` (an INSERT ... SELECT FROM
Python(data) in chDB) - so the server-side coercion of Go values (e.g. an Int64 Duration into the
UInt64 column) is assumed, not exercised. The Collector's OTLP receiver and pdata decoding are not
run: a request pdata would refuse (ids of the wrong length) raises ValueError here. Map entries
with duplicate keys keep the first position and the last value (what an ordered map does; not
checked against clickhouse-go's `orderedmap`).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pyarrow as pa

from livekit_dashboard.store import Engine

__all__ = [
    "INSERTS",
    "any_value_as_string",
    "insert_request",
    "log_rows",
    "metric_rows",
    "span_rows",
]

# the exporter's statements (its sqltemplates, table names as configured by default); the column list
# of each is what goes into the table, in this order
TRACES_INSERT = """INSERT INTO "%s"."%s" (
    Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName, SpanKind, ServiceName,
    ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode, StatusMessage,
    Events.Timestamp, Events.Name, Events.Attributes,
    Links.TraceId, Links.SpanId, Links.TraceState, Links.Attributes
) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""
# %s: the feature columns (", EventName" when the logs table has that column)
LOGS_INSERT = """INSERT INTO %q.%q (
    Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
    ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes,
    LogAttributes
    %s
) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,? %s)"""
_METRIC_HEAD = """ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes,
    ScopeDroppedAttrCount, ScopeSchemaUrl, ServiceName, MetricName, MetricDescription, MetricUnit,
    Attributes, StartTimeUnix, TimeUnix"""
_EXEMPLARS = "Exemplars.FilteredAttributes, Exemplars.TimeUnix, Exemplars.Value, Exemplars.SpanId, Exemplars.TraceId"
GAUGE_INSERT = f'INSERT INTO "%s"."%s" ({_METRIC_HEAD}, Value, Flags, {_EXEMPLARS}) VALUES (...)'
SUM_INSERT = (
    f'INSERT INTO "%s"."%s" ({_METRIC_HEAD}, Value, Flags, {_EXEMPLARS}, AggregationTemporality, IsMonotonic) '
    "VALUES (...)"
)
HISTOGRAM_INSERT = (
    f'INSERT INTO "%s"."%s" ({_METRIC_HEAD}, Count, Sum, BucketCounts, ExplicitBounds, {_EXEMPLARS}, '
    "Flags, Min, Max, AggregationTemporality) VALUES (...)"
)
EXP_HISTOGRAM_INSERT = (
    f'INSERT INTO "%s"."%s" ({_METRIC_HEAD}, Count, Sum, Scale, ZeroCount, PositiveOffset, '
    f"PositiveBucketCounts, NegativeOffset, NegativeBucketCounts, {_EXEMPLARS}, Flags, Min, Max, "
    "AggregationTemporality) VALUES (...)"
)
SUMMARY_INSERT = (
    f'INSERT INTO "%s"."%s" ({_METRIC_HEAD}, Count, Sum, ValueAtQuantiles.Quantile, ValueAtQuantiles.Value, '
    "Flags) VALUES (...)"
)


def _columns(statement: str, features: str = "") -> list[str]:
    """The column list of an INSERT statement text, in order."""
    body = statement.split("(", 1)[1].split(") VALUES", 1)[0].replace("%s", features)
    return [name for name in re.split(r"[\s,]+", body) if name]


_TS = pa.timestamp("ns", tz="UTC")
_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())
# the Arrow type each column's values are handed over as (ClickHouse converts them to the column type)
_TYPES: dict[str, pa.DataType] = {
    "Timestamp": _TS,
    "StartTimeUnix": _TS,
    "TimeUnix": _TS,
    "Duration": pa.uint64(),
    "TraceFlags": pa.uint8(),
    "SeverityNumber": pa.uint8(),
    "ScopeDroppedAttrCount": pa.uint32(),
    "Value": pa.float64(),
    "Flags": pa.uint32(),
    "AggregationTemporality": pa.int32(),
    "IsMonotonic": pa.bool_(),
    "Count": pa.uint64(),
    "Sum": pa.float64(),
    "Min": pa.float64(),
    "Max": pa.float64(),
    "BucketCounts": pa.list_(pa.uint64()),
    "ExplicitBounds": pa.list_(pa.float64()),
    "Scale": pa.int32(),
    "ZeroCount": pa.uint64(),
    "PositiveOffset": pa.int32(),
    "PositiveBucketCounts": pa.list_(pa.uint64()),
    "NegativeOffset": pa.int32(),
    "NegativeBucketCounts": pa.list_(pa.uint64()),
    "ValueAtQuantiles.Quantile": pa.list_(pa.float64()),
    "ValueAtQuantiles.Value": pa.list_(pa.float64()),
    "Events.Timestamp": pa.list_(_TS),
    "Events.Name": pa.list_(_STR),
    "Events.Attributes": pa.list_(_MAP),
    "Links.TraceId": pa.list_(_STR),
    "Links.SpanId": pa.list_(_STR),
    "Links.TraceState": pa.list_(_STR),
    "Links.Attributes": pa.list_(_MAP),
    "Exemplars.FilteredAttributes": pa.list_(_MAP),
    "Exemplars.TimeUnix": pa.list_(_TS),
    "Exemplars.Value": pa.list_(pa.float64()),
    "Exemplars.SpanId": pa.list_(_STR),
    "Exemplars.TraceId": pa.list_(_STR),
}
for _name in ("ResourceAttributes", "SpanAttributes", "ScopeAttributes", "LogAttributes", "Attributes"):
    _TYPES[_name] = _MAP

INSERTS: dict[str, str] = {
    "otel_traces": TRACES_INSERT,
    "otel_logs": LOGS_INSERT,
    "otel_metrics_gauge": GAUGE_INSERT,
    "otel_metrics_sum": SUM_INSERT,
    "otel_metrics_histogram": HISTOGRAM_INSERT,
    "otel_metrics_exponential_histogram": EXP_HISTOGRAM_INSERT,
    "otel_metrics_summary": SUMMARY_INSERT,
}

# ---- pdata Value.AsString -------------------------------------------------------------------------

_NON_FINITE = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def es6_number(value: float) -> str:
    """A finite float64 as Go writes it in JSON and in `AsString` (strconv 'f' with the shortest digits,
    or 'e' below 1e-6 and from 1e21 on, with "e-07" cleaned to "e-7")."""
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")  # Python's shortest digits, as Go's -1 precision
        sign, digits = exponent[0], exponent[1:].lstrip("0") or "0"
        if sign == "+" and len(digits) < 2:
            digits = digits.rjust(2, "0")  # Go pads a positive exponent to two digits
        return f"{mantissa}e{sign}{digits}"
    return format(Decimal(repr(value)).normalize(), "f")


def _go_json_string(text: str) -> str:
    """A string as Go's encoding/json writes it with HTML escaping off."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif char in "\n\r\t\b\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}[char])
        elif code < 0x20 or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


class _UnsupportedValueError(ValueError):
    """A NaN or an infinity inside a map or slice: json.Marshal fails and AsString gives ""."""


def _go_json(value: Any) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return "null"
    if kind == "string_value":
        return _go_json_string(value.string_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        if not math.isfinite(value.double_value):
            raise _UnsupportedValueError
        return es6_number(value.double_value)
    if kind == "bytes_value":
        return _go_json_string(base64.b64encode(value.bytes_value).decode("ascii"))
    if kind == "array_value":
        return "[" + ",".join(_go_json(item) for item in value.array_value.values) + "]"
    raw: dict[str, Any] = {}
    for kv in value.kvlist_value.values:  # AsRaw: a Go map, the last of duplicate keys wins
        raw[kv.key] = kv.value
    return "{" + ",".join(f"{_go_json_string(k)}:{_go_json(raw[k])}" for k in sorted(raw)) + "}"


def any_value_as_string(value: Any) -> str:
    """pdata `Value.AsString()` of an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        number = value.double_value
        if not math.isfinite(number):
            return "json: unsupported value: " + _NON_FINITE[repr(number)]
        return es6_number(number)
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    try:
        return _go_json(value)
    except _UnsupportedValueError:
        return ""


def attributes_to_map(attributes: Iterable[Any]) -> dict[str, str]:
    """`AttributesToMap`: every attribute in pdata order, values by `AsString()`."""
    out: dict[str, str] = {}
    for kv in attributes:
        out[kv.key] = any_value_as_string(kv.value)
    return out


def service_name(attributes: Iterable[Any]) -> str:
    """`GetServiceName`: pdata `Map.Get` finds the first `service.name`."""
    for kv in attributes:
        if kv.key == "service.name":
            return any_value_as_string(kv.value)
    return ""


def _hex_or_empty(raw: bytes, size: int) -> str:
    """`traceutil.TraceIDToHexOrEmptyString` / `SpanIDToHexOrEmptyString` of a pdata id."""
    if raw and len(raw) != size:
        raise ValueError(f"an id of {len(raw)} bytes (pdata refuses the request)")
    return "" if not raw.strip(b"\0") else raw.hex()


def _fixed_hex(raw: bytes, size: int) -> str:
    """`hex.EncodeToString(id[:])` of a pdata id: absent is all zeros."""
    return (raw or bytes(size)).hex()


# ---- rows -----------------------------------------------------------------------------------------

_SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUS_CODES = ("Unset", "Ok", "Error")


def span_rows(request: Any) -> list[dict[str, Any]]:
    rows = []
    for resource_spans in request.resource_spans:
        resource = resource_spans.resource.attributes
        service, res_map = service_name(resource), attributes_to_map(resource)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                kind, code = span.kind, span.status.code
                rows.append(
                    {
                        "Timestamp": start,
                        "TraceId": _hex_or_empty(span.trace_id, 16),
                        "SpanId": _hex_or_empty(span.span_id, 8),
                        "ParentSpanId": _hex_or_empty(span.parent_span_id, 8),
                        "TraceState": span.trace_state,
                        "SpanName": span.name,
                        "SpanKind": _SPAN_KINDS[kind] if 0 <= kind < len(_SPAN_KINDS) else "",
                        "ServiceName": service,
                        "ResourceAttributes": res_map,
                        "ScopeName": scope.name,
                        "ScopeVersion": scope.version,
                        "SpanAttributes": attributes_to_map(span.attributes),
                        "Duration": (end - start) % 2**64,
                        "StatusCode": _STATUS_CODES[code] if 0 <= code < len(_STATUS_CODES) else "",
                        "StatusMessage": span.status.message,
                        "Events.Timestamp": [e.time_unix_nano for e in span.events],
                        "Events.Name": [e.name for e in span.events],
                        "Events.Attributes": [attributes_to_map(e.attributes) for e in span.events],
                        "Links.TraceId": [_hex_or_empty(link.trace_id, 16) for link in span.links],
                        "Links.SpanId": [_hex_or_empty(link.span_id, 8) for link in span.links],
                        "Links.TraceState": [link.trace_state for link in span.links],
                        "Links.Attributes": [attributes_to_map(link.attributes) for link in span.links],
                    }
                )
    return rows


def log_rows(request: Any) -> list[dict[str, Any]]:
    rows = []
    for resource_logs in request.resource_logs:
        resource = resource_logs.resource.attributes
        service, res_map = service_name(resource), attributes_to_map(resource)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_map = attributes_to_map(scope.attributes)
            for record in scope_logs.log_records:
                rows.append(
                    {
                        "Timestamp": record.time_unix_nano or record.observed_time_unix_nano,
                        "TraceId": _hex_or_empty(record.trace_id, 16),
                        "SpanId": _hex_or_empty(record.span_id, 8),
                        "TraceFlags": record.flags & 0xFF,
                        "SeverityText": record.severity_text,
                        "SeverityNumber": record.severity_number & 0xFF,
                        "ServiceName": service,
                        "Body": any_value_as_string(record.body),
                        "ResourceSchemaUrl": resource_logs.schema_url,
                        "ResourceAttributes": res_map,
                        "ScopeSchemaUrl": scope_logs.schema_url,
                        "ScopeName": scope.name,
                        "ScopeVersion": scope.version,
                        "ScopeAttributes": scope_map,
                        "LogAttributes": attributes_to_map(record.attributes),
                        "EventName": record.event_name,
                    }
                )
    return rows


def _value(point: Any) -> float:
    """`getValue`: an int point as float64, an empty one as 0."""
    kind = point.WhichOneof("value")
    if kind == "as_int":
        return float(point.as_int)
    return float(point.as_double) if kind == "as_double" else 0.0


def _exemplars(point: Any) -> dict[str, Any]:
    exemplars = point.exemplars
    return {
        "Exemplars.FilteredAttributes": [attributes_to_map(e.filtered_attributes) for e in exemplars],
        "Exemplars.TimeUnix": [e.time_unix_nano for e in exemplars],
        "Exemplars.Value": [_value(e) for e in exemplars],
        "Exemplars.SpanId": [_fixed_hex(e.span_id, 8) for e in exemplars],
        "Exemplars.TraceId": [_fixed_hex(e.trace_id, 16) for e in exemplars],
    }


def _point_row(kind: str, data: Any, point: Any) -> dict[str, Any]:
    if kind in ("gauge", "sum"):
        row = {"Value": _value(point), "Flags": point.flags, **_exemplars(point)}
        if kind == "sum":
            row["AggregationTemporality"] = data.aggregation_temporality
            row["IsMonotonic"] = data.is_monotonic
        return row
    if kind == "summary":
        return {
            "Count": point.count,
            "Sum": point.sum,
            "ValueAtQuantiles.Quantile": [q.quantile for q in point.quantile_values],
            "ValueAtQuantiles.Value": [q.value for q in point.quantile_values],
            "Flags": point.flags,
        }
    row = {"Count": point.count, "Sum": point.sum}
    if kind == "histogram":
        row["BucketCounts"] = list(point.bucket_counts)
        row["ExplicitBounds"] = list(point.explicit_bounds)
    else:
        row.update(
            Scale=point.scale,
            ZeroCount=point.zero_count,
            PositiveOffset=point.positive.offset,
            PositiveBucketCounts=list(point.positive.bucket_counts),
            NegativeOffset=point.negative.offset,
            NegativeBucketCounts=list(point.negative.bucket_counts),
        )
    row.update(_exemplars(point))
    row.update(Flags=point.flags, Min=point.min, Max=point.max, AggregationTemporality=data.aggregation_temporality)
    return row


_METRIC_TABLES = {
    "gauge": "otel_metrics_gauge",
    "sum": "otel_metrics_sum",
    "histogram": "otel_metrics_histogram",
    "exponential_histogram": "otel_metrics_exponential_histogram",
    "summary": "otel_metrics_summary",
}


def metric_rows(request: Any) -> dict[str, list[dict[str, Any]]]:
    """Rows per metrics table; a metric without data is skipped (pdata's MetricTypeEmpty)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for resource_metrics in request.resource_metrics:
        resource = resource_metrics.resource.attributes
        service, res_map = service_name(resource), attributes_to_map(resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            common = {
                "ResourceAttributes": res_map,
                "ResourceSchemaUrl": resource_metrics.schema_url,
                "ScopeName": scope.name,
                "ScopeVersion": scope.version,
                "ScopeAttributes": attributes_to_map(scope.attributes),
                "ScopeDroppedAttrCount": scope.dropped_attributes_count,
                "ScopeSchemaUrl": scope_metrics.schema_url,
                "ServiceName": service,
            }
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                data = getattr(metric, kind)
                for point in data.data_points:
                    row = {
                        **common,
                        "MetricName": metric.name,
                        "MetricDescription": metric.description,
                        "MetricUnit": metric.unit,
                        "Attributes": attributes_to_map(point.attributes),
                        "StartTimeUnix": point.start_time_unix_nano,
                        "TimeUnix": point.time_unix_nano,
                        **_point_row(kind, data, point),
                    }
                    out.setdefault(_METRIC_TABLES[kind], []).append(row)
    return out


# ---- insert ---------------------------------------------------------------------------------------


def _arrow(columns: list[str], rows: list[dict[str, Any]]) -> pa.Table:
    arrays = []
    for name in columns:
        values = [row[name] for row in rows]
        typ = _TYPES.get(name, _STR)
        if typ == _MAP:
            values = [list(v.items()) for v in values]
        elif typ == pa.list_(_MAP):
            values = [[list(m.items()) for m in v] for v in values]
        arrays.append(pa.array(values, typ))
    return pa.Table.from_arrays(arrays, names=columns)


def insert_rows(engine: Engine, table: str, rows: list[dict[str, Any]]) -> int:
    """One batch into `table`, columns as the exporter's INSERT names them (EventName as the logs
    feature column: our otel_logs has it)."""
    if not rows:
        return 0
    columns = _columns(INSERTS[table], ", EventName" if table == "otel_logs" else "")
    engine.insert_arrow(table, _arrow(columns, rows))
    return len(rows)


def insert_request(engine: Engine, signal: str, request: Any) -> int:
    """What the exporter writes for one pushed request of `signal` (traces, logs or metrics); rows."""
    if signal == "traces":
        return insert_rows(engine, "otel_traces", span_rows(request))
    if signal == "logs":
        return insert_rows(engine, "otel_logs", log_rows(request))
    return sum(insert_rows(engine, table, rows) for table, rows in metric_rows(request).items())
