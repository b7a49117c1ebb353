"""Prepared batches: the rows one OTLP request becomes, per table, with what was rejected and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS
from livekit_dashboard.ingest.decode import Signal

__all__ = ["REQUESTS", "REQUESTS_SCHEMA", "Prepared", "count_records", "ns", "rows_in"]


# trace requests kept whole, for the engine to decode (ingest/trace_requests.py): no such table, the
# name a request's body has in a batch and a log frame
REQUESTS = "otlp_trace_requests"
REQUESTS_SCHEMA = pa.schema([("Body", pa.binary()), ("Spans", pa.uint32())])


def rows_in(tables: Mapping[str, pa.Table]) -> int:
    """The rows some tables will store: a request's valid spans for REQUESTS, each table's rows else."""
    return sum(
        int(pc.sum(table["Spans"]).as_py() or 0) if name == REQUESTS else table.num_rows
        for name, table in tables.items()
    )


def ns(value: int) -> int:
    """Clamp a uint64 nanosecond timestamp into what DateTime64(9) holds (callers reject first)."""
    return value if value <= MAX_TIMESTAMP_NS else MAX_TIMESTAMP_NS


@dataclass(slots=True)
class Prepared:
    """Rows ready to insert, plus the per-record rejections to report as partial success."""

    signal: Signal
    tables: dict[str, pa.Table] = field(default_factory=dict)
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def reject(self, reason: str, count: int = 1) -> None:
        self.rejected += count
        self.reasons[reason] += count

    @property
    def num_rows(self) -> int:
        return rows_in(self.tables)

    def error_message(self) -> str:
        if not self.rejected:
            return ""
        unit = {Signal.TRACES: "spans", Signal.LOGS: "log records", Signal.METRICS: "data points"}[self.signal]
        detail = "; ".join(f"{reason} ({count})" for reason, count in self.reasons.most_common(5))
        return f"{self.rejected} {unit} rejected: {detail}"


_POINT_KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


def count_records(signal: Signal, request: Any) -> int:
    """Spans, log records or metric data points in a decoded request (cheap: no conversion)."""
    if signal is Signal.TRACES:
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal is Signal.LOGS:
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    total = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind in _POINT_KINDS:
                    total += len(getattr(metric, kind).data_points)
    return total
