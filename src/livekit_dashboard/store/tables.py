"""Insert schemas: the Arrow column types for each raw table we write (mirrors schema/*.sql)."""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "CHAT_HISTORIES",
    "LOGS",
    "METRICS_EXP_HISTOGRAM",
    "METRICS_GAUGE",
    "METRICS_HISTOGRAM",
    "METRICS_SUM",
    "METRICS_SUMMARY",
    "RECORDINGS",
    "TRACES",
    "USAGE_POSTED",
]

_TS = pa.timestamp("ns", tz="UTC")
_STR = pa.string()
_MAP = pa.map_(pa.string(), pa.string())


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in fields])


TRACES = _schema(
    ("Timestamp", _TS),
    ("TraceId", _STR),
    ("SpanId", _STR),
    ("ParentSpanId", _STR),
    ("TraceState", _STR),
    ("SpanName", _STR),
    ("SpanKind", _STR),
    ("ServiceName", _STR),
    ("ResourceAttributes", _MAP),
    ("ScopeName", _STR),
    ("ScopeVersion", _STR),
    ("SpanAttributes", _MAP),
    ("Duration", pa.uint64()),
    ("StatusCode", _STR),
    ("StatusMessage", _STR),
    ("Events.Timestamp", pa.list_(_TS)),
    ("Events.Name", pa.list_(_STR)),
    ("Events.Attributes", pa.list_(_MAP)),
    ("Links.TraceId", pa.list_(_STR)),
    ("Links.SpanId", pa.list_(_STR)),
    ("Links.TraceState", pa.list_(_STR)),
    ("Links.Attributes", pa.list_(_MAP)),
)

LOGS = _schema(
    ("Timestamp", _TS),
    ("TraceId", _STR),
    ("SpanId", _STR),
    ("TraceFlags", pa.uint8()),
    ("SeverityText", _STR),
    ("SeverityNumber", pa.uint8()),
    ("ServiceName", _STR),
    ("Body", _STR),
    ("ResourceSchemaUrl", _STR),
    ("ResourceAttributes", _MAP),
    ("ScopeSchemaUrl", _STR),
    ("ScopeName", _STR),
    ("ScopeVersion", _STR),
    ("ScopeAttributes", _MAP),
    ("LogAttributes", _MAP),
    ("EventName", _STR),
)

_METRIC_COMMON: tuple[tuple[str, pa.DataType], ...] = (
    ("ResourceAttributes", _MAP),
    ("ResourceSchemaUrl", _STR),
    ("ScopeName", _STR),
    ("ScopeVersion", _STR),
    ("ScopeAttributes", _MAP),
    ("ScopeDroppedAttrCount", pa.uint32()),
    ("ScopeSchemaUrl", _STR),
    ("ServiceName", _STR),
    ("MetricName", _STR),
    ("MetricDescription", _STR),
    ("MetricUnit", _STR),
    ("Attributes", _MAP),
    ("StartTimeUnix", _TS),
    ("TimeUnix", _TS),
)
_EXEMPLARS: tuple[tuple[str, pa.DataType], ...] = (
    ("Exemplars.FilteredAttributes", pa.list_(_MAP)),
    ("Exemplars.TimeUnix", pa.list_(_TS)),
    ("Exemplars.Value", pa.list_(pa.float64())),
    ("Exemplars.SpanId", pa.list_(_STR)),
    ("Exemplars.TraceId", pa.list_(_STR)),
)

METRICS_GAUGE = _schema(*_METRIC_COMMON, ("Value", pa.float64()), ("Flags", pa.uint32()), *_EXEMPLARS)
METRICS_SUM = _schema(
    *_METRIC_COMMON,
    ("Value", pa.float64()),
    ("Flags", pa.uint32()),
    *_EXEMPLARS,
    ("AggregationTemporality", pa.int32()),
    ("IsMonotonic", pa.bool_()),
)
METRICS_HISTOGRAM = _schema(
    *_METRIC_COMMON,
    ("Count", pa.uint64()),
    ("Sum", pa.float64()),
    ("BucketCounts", pa.list_(pa.uint64())),
    ("ExplicitBounds", pa.list_(pa.float64())),
    *_EXEMPLARS,
    ("Flags", pa.uint32()),
    ("Min", pa.float64()),
    ("Max", pa.float64()),
    ("AggregationTemporality", pa.int32()),
)
METRICS_EXP_HISTOGRAM = _schema(
    *_METRIC_COMMON,
    ("Count", pa.uint64()),
    ("Sum", pa.float64()),
    ("Scale", pa.int32()),
    ("ZeroCount", pa.uint64()),
    ("PositiveOffset", pa.int32()),
    ("PositiveBucketCounts", pa.list_(pa.uint64())),
    ("NegativeOffset", pa.int32()),
    ("NegativeBucketCounts", pa.list_(pa.uint64())),
    *_EXEMPLARS,
    ("Flags", pa.uint32()),
    ("Min", pa.float64()),
    ("Max", pa.float64()),
    ("AggregationTemporality", pa.int32()),
)
METRICS_SUMMARY = _schema(
    *_METRIC_COMMON,
    ("Count", pa.uint64()),
    ("Sum", pa.float64()),
    ("ValueAtQuantiles.Quantile", pa.list_(pa.float64())),
    ("ValueAtQuantiles.Value", pa.list_(pa.float64())),
    ("Flags", pa.uint32()),
)

# records posted by workers (POST /v1/usage), one row per call; the newest post wins
USAGE_POSTED = _schema(
    ("CallId", _STR),
    ("PostedAt", _TS),
    ("TraceId", _STR),
    ("RoomName", _STR),
    ("ServiceName", _STR),
    ("AgentName", _STR),
    ("UserEmail", _STR),
    ("AssistantId", _STR),
    ("CloseReason", _STR),
    ("StartedAt", _TS),
    ("EndedAt", _TS),
    ("Models", pa.list_(_STR)),
    ("InputAudioTokens", pa.uint64()),
    ("InputTextTokens", pa.uint64()),
    ("CachedAudioTokens", pa.uint64()),
    ("CachedTextTokens", pa.uint64()),
    ("OutputAudioTokens", pa.uint64()),
    ("OutputTextTokens", pa.uint64()),
    ("CacheWriteTokens", pa.uint64()),
    ("ReasoningTokens", pa.uint64()),
    ("TtsCharacters", pa.uint64()),
    ("TtsAudioS", pa.float64()),
    ("SttAudioS", pa.float64()),
    ("Turns", pa.uint64()),
    ("Errors", pa.uint64()),
)


CHAT_HISTORIES = _schema(
    ("CallId", _STR),
    ("RoomId", _STR),
    ("StartedAt", pa.timestamp("ms", tz="UTC")),
    ("Items", _STR),
    ("UploadedAt", pa.timestamp("ms", tz="UTC")),
)

RECORDINGS = _schema(
    ("CallId", _STR),
    ("RoomId", _STR),
    ("StartedAt", pa.timestamp("ms", tz="UTC")),
    ("DurationMs", pa.uint64()),
    ("Bytes", pa.uint64()),
    ("ContentType", _STR),
    ("File", _STR),
    ("UploadedAt", pa.timestamp("ms", tz="UTC")),
)
