"""Log records: ExportLogsServiceRequest -> otel_logs rows (the Collector's column layout)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS
from livekit_dashboard.ingest.attributes import any_value_to_str
from livekit_dashboard.ingest.columns import MapColumn, append_attributes
from livekit_dashboard.ingest.decode import Signal
from livekit_dashboard.ingest.rows import Prepared
from livekit_dashboard.ingest.spans import id_hex
from livekit_dashboard.store import tables

__all__ = ["prepare_logs"]

_MAP_COLUMNS = ("ResourceAttributes", "ScopeAttributes", "LogAttributes")


def prepare_logs(request: Any) -> Prepared:
    out = Prepared(Signal.LOGS)
    cols: dict[str, list[Any]] = {name: [] for name in tables.LOGS.names if name not in _MAP_COLUMNS}
    maps = {name: MapColumn() for name in _MAP_COLUMNS}
    for resource_logs in request.resource_logs:
        res_keys: list[str] = []
        res_values: list[str] = []
        append_attributes(resource_logs.resource.attributes, res_keys, res_values)
        service = next((v for k, v in zip(res_keys, res_values, strict=True) if k == "service.name"), "")
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            scope_keys: list[str] = []
            scope_values: list[str] = []
            append_attributes(scope.attributes, scope_keys, scope_values)
            for record in scope_logs.log_records:
                reason = _invalid(record)
                if reason:
                    out.reject(reason)
                    continue
                # the Collector falls back to the observed time when the event time is unset
                cols["Timestamp"].append(record.time_unix_nano or record.observed_time_unix_nano)
                cols["TraceId"].append(id_hex(record.trace_id))
                cols["SpanId"].append(id_hex(record.span_id))
                cols["TraceFlags"].append(record.flags & 0xFF)
                cols["SeverityText"].append(record.severity_text)
                cols["SeverityNumber"].append(record.severity_number & 0xFF)
                cols["ServiceName"].append(service)
                cols["Body"].append(any_value_to_str(record.body))
                cols["ResourceSchemaUrl"].append(resource_logs.schema_url)
                maps["ResourceAttributes"].add_pairs(res_keys, res_values)
                cols["ScopeSchemaUrl"].append(scope_logs.schema_url)
                cols["ScopeName"].append(scope.name)
                cols["ScopeVersion"].append(scope.version)
                maps["ScopeAttributes"].add_pairs(scope_keys, scope_values)
                maps["LogAttributes"].add(record.attributes)
                cols["EventName"].append(record.event_name)
                out.accepted += 1
    if out.accepted:
        arrays = [maps[f.name].to_arrow() if f.name in maps else pa.array(cols[f.name], f.type) for f in tables.LOGS]
        out.tables["otel_logs"] = pa.Table.from_arrays(arrays, schema=tables.LOGS)
    return out


def _invalid(record: Any) -> str:
    if record.trace_id and len(record.trace_id) != 16:
        return f"invalid trace_id ({len(record.trace_id)} bytes, want 16 or empty)"
    if record.span_id and len(record.span_id) != 8:
        return f"invalid span_id ({len(record.span_id)} bytes, want 8 or empty)"
    if record.time_unix_nano > MAX_TIMESTAMP_NS or record.observed_time_unix_nano > MAX_TIMESTAMP_NS:
        return "timestamp beyond 2262-04-11 (DateTime64(9) range)"
    return ""
