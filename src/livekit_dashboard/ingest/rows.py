"""Prepared batches: the rows one OTLP request becomes, per table, with what was rejected and why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS
from livekit_dashboard.ingest.decode import Signal

__all__ = ["Prepared", "ns"]


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

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.reasons[reason] += 1

    @property
    def num_rows(self) -> int:
        return sum(t.num_rows for t in self.tables.values())

    def error_message(self) -> str:
        if not self.rejected:
            return ""
        unit = {Signal.TRACES: "spans", Signal.LOGS: "log records", Signal.METRICS: "data points"}[self.signal]
        detail = "; ".join(f"{reason} ({count})" for reason, count in self.reasons.most_common(5))
        return f"{self.rejected} {unit} rejected: {detail}"
