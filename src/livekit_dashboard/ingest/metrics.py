"""Metric data points: ExportMetricsServiceRequest -> the five otel_metrics_* tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS
from livekit_dashboard.ingest.attributes import attributes_to_pairs, service_name
from livekit_dashboard.ingest.decode import Signal
from livekit_dashboard.ingest.rows import Prepared, ns
from livekit_dashboard.store import tables

__all__ = ["prepare_metrics"]

_TABLES: dict[str, tuple[str, pa.Schema]] = {
    "gauge": ("otel_metrics_gauge", tables.METRICS_GAUGE),
    "sum": ("otel_metrics_sum", tables.METRICS_SUM),
    "histogram": ("otel_metrics_histogram", tables.METRICS_HISTOGRAM),
    "exponential_histogram": ("otel_metrics_exponential_histogram", tables.METRICS_EXP_HISTOGRAM),
    "summary": ("otel_metrics_summary", tables.METRICS_SUMMARY),
}


def _number(point: Any) -> float:
    return float(point.as_int) if point.WhichOneof("value") == "as_int" else point.as_double


def _exemplars(point: Any, row: dict[str, Any]) -> None:
    exemplars = point.exemplars
    row["Exemplars.FilteredAttributes"] = [attributes_to_pairs(e.filtered_attributes) for e in exemplars]
    row["Exemplars.TimeUnix"] = [ns(e.time_unix_nano) for e in exemplars]
    row["Exemplars.Value"] = [_number(e) for e in exemplars]
    # the Collector hex-encodes the fixed-size id: an exemplar without one stores zeros, not ""
    row["Exemplars.SpanId"] = [(e.span_id or bytes(8)).hex() for e in exemplars]
    row["Exemplars.TraceId"] = [(e.trace_id or bytes(16)).hex() for e in exemplars]


def _gauge(point: Any, data: Any, row: dict[str, Any]) -> None:
    row["Value"] = _number(point)
    row["Flags"] = point.flags
    _exemplars(point, row)


def _sum(point: Any, data: Any, row: dict[str, Any]) -> None:
    _gauge(point, data, row)
    row["AggregationTemporality"] = data.aggregation_temporality
    row["IsMonotonic"] = data.is_monotonic


def _histogram(point: Any, data: Any, row: dict[str, Any]) -> None:
    row["Count"] = point.count
    row["Sum"] = point.sum
    row["BucketCounts"] = list(point.bucket_counts)
    row["ExplicitBounds"] = list(point.explicit_bounds)
    _exemplars(point, row)
    row["Flags"] = point.flags
    row["Min"] = point.min
    row["Max"] = point.max
    row["AggregationTemporality"] = data.aggregation_temporality


def _exp_histogram(point: Any, data: Any, row: dict[str, Any]) -> None:
    row["Count"] = point.count
    row["Sum"] = point.sum
    row["Scale"] = point.scale
    row["ZeroCount"] = point.zero_count
    row["PositiveOffset"] = point.positive.offset
    row["PositiveBucketCounts"] = list(point.positive.bucket_counts)
    row["NegativeOffset"] = point.negative.offset
    row["NegativeBucketCounts"] = list(point.negative.bucket_counts)
    _exemplars(point, row)
    row["Flags"] = point.flags
    row["Min"] = point.min
    row["Max"] = point.max
    row["AggregationTemporality"] = data.aggregation_temporality


def _summary(point: Any, data: Any, row: dict[str, Any]) -> None:
    row["Count"] = point.count
    row["Sum"] = point.sum
    row["ValueAtQuantiles.Quantile"] = [q.quantile for q in point.quantile_values]
    row["ValueAtQuantiles.Value"] = [q.value for q in point.quantile_values]
    row["Flags"] = point.flags


_FILL: dict[str, Callable[[Any, Any, dict[str, Any]], None]] = {
    "gauge": _gauge,
    "sum": _sum,
    "histogram": _histogram,
    "exponential_histogram": _exp_histogram,
    "summary": _summary,
}


def prepare_metrics(request: Any) -> Prepared:
    """One row per data point, into the table of its metric's kind."""
    out = Prepared(Signal.METRICS)
    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _TABLES}
    for resource_metrics in request.resource_metrics:
        resource = attributes_to_pairs(resource_metrics.resource.attributes)
        service = service_name(resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            common = {
                "ResourceAttributes": resource,
                "ResourceSchemaUrl": resource_metrics.schema_url,
                "ScopeName": scope.name,
                "ScopeVersion": scope.version,
                "ScopeAttributes": attributes_to_pairs(scope.attributes),
                "ScopeDroppedAttrCount": scope.dropped_attributes_count,
                "ScopeSchemaUrl": scope_metrics.schema_url,
                "ServiceName": service,
            }
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    out.reject("metric without data (no gauge, sum, histogram or summary)")
                    continue
                data = getattr(metric, kind)
                fill = _FILL[kind]
                for point in data.data_points:
                    if point.time_unix_nano > MAX_TIMESTAMP_NS or point.start_time_unix_nano > MAX_TIMESTAMP_NS:
                        out.reject("timestamp beyond 2262-04-11 (DateTime64(9) range)")
                        continue
                    row = dict(common)
                    row["MetricName"] = metric.name
                    row["MetricDescription"] = metric.description
                    row["MetricUnit"] = metric.unit
                    row["Attributes"] = attributes_to_pairs(point.attributes)
                    row["StartTimeUnix"] = point.start_time_unix_nano
                    row["TimeUnix"] = point.time_unix_nano
                    fill(point, data, row)
                    rows[kind].append(row)
                    out.accepted += 1
    for kind, kind_rows in rows.items():
        if kind_rows:
            table, schema = _TABLES[kind]
            out.tables[table] = pa.Table.from_pylist(kind_rows, schema=schema)
    return out
