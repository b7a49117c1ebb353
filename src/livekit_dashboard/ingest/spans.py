"""Spans: ExportTraceServiceRequest -> otel_traces rows (the Collector's column layout)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from livekit_dashboard.domain.ids import is_valid_span_id, is_valid_trace_id
from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS
from livekit_dashboard.ingest.columns import MapColumn, append_attributes
from livekit_dashboard.ingest.decode import Signal
from livekit_dashboard.ingest.rows import Prepared, ns
from livekit_dashboard.store import tables

__all__ = ["SPAN_KINDS", "STATUS_CODES", "id_hex", "invalid_span", "prepare_spans"]

# the Collector's spellings (pdata traceutil): these strings are what the table holds
SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUS_CODES = ("Unset", "Ok", "Error")
_MAP_COLUMNS = ("ResourceAttributes", "SpanAttributes", "Events.Attributes", "Links.Attributes")


def id_hex(raw: bytes) -> str:
    """A trace or span id as the Collector stores it (traceutil's ...ToHexOrEmptyString): lowercase hex,
    and "" for an absent or all-zero id."""
    return raw.hex() if raw.strip(b"\0") else ""


def prepare_spans(request: Any) -> Prepared:
    """Validate and convert every span; invalid ones are counted, not stored."""
    out = Prepared(Signal.TRACES)
    cols: dict[str, list[Any]] = {name: [] for name in tables.TRACES.names if name not in _MAP_COLUMNS}
    ts, trace_ids, span_ids, parents = cols["Timestamp"], cols["TraceId"], cols["SpanId"], cols["ParentSpanId"]
    states, names, kinds, services = cols["TraceState"], cols["SpanName"], cols["SpanKind"], cols["ServiceName"]
    scope_names, scope_versions = cols["ScopeName"], cols["ScopeVersion"]
    durations, codes, messages = cols["Duration"], cols["StatusCode"], cols["StatusMessage"]
    ev_ts, ev_names = cols["Events.Timestamp"], cols["Events.Name"]
    ln_trace, ln_span, ln_state = cols["Links.TraceId"], cols["Links.SpanId"], cols["Links.TraceState"]
    resources, attributes = MapColumn(), MapColumn()
    event_attrs, link_attrs = MapColumn(nested=True), MapColumn(nested=True)
    for resource_spans in request.resource_spans:
        res_keys: list[str] = []
        res_values: list[str] = []
        append_attributes(resource_spans.resource.attributes, res_keys, res_values)
        service = next((v for k, v in zip(res_keys, res_values, strict=True) if k == "service.name"), "")
        for scope_spans in resource_spans.scope_spans:
            scope_name, scope_version = scope_spans.scope.name, scope_spans.scope.version
            for span in scope_spans.spans:
                reason = invalid_span(span)
                if reason:
                    out.reject(reason)
                    continue
                start, end = span.start_time_unix_nano, span.end_time_unix_nano
                ts.append(start)
                trace_ids.append(span.trace_id.hex())
                span_ids.append(span.span_id.hex())
                parents.append(id_hex(span.parent_span_id))
                states.append(span.trace_state)
                names.append(span.name)
                kinds.append(SPAN_KINDS[span.kind] if 0 <= span.kind < len(SPAN_KINDS) else "")  # pdata: "" if unknown
                services.append(service)
                resources.add_pairs(res_keys, res_values)
                scope_names.append(scope_name)
                scope_versions.append(scope_version)
                attributes.add(span.attributes)
                durations.append(end - start if end > start else 0)
                code = span.status.code
                codes.append(STATUS_CODES[code] if 0 <= code < len(STATUS_CODES) else "")
                messages.append(span.status.message)
                events = span.events
                if events:
                    ev_ts.append([ns(e.time_unix_nano) for e in events])
                    ev_names.append([e.name for e in events])
                    for event in events:
                        event_attrs.add(event.attributes)
                else:
                    ev_ts.append([])
                    ev_names.append([])
                event_attrs.end_row()
                links = span.links
                if links:
                    ln_trace.append([id_hex(link.trace_id) for link in links])
                    ln_span.append([id_hex(link.span_id) for link in links])
                    ln_state.append([link.trace_state for link in links])
                    for link in links:
                        link_attrs.add(link.attributes)
                else:
                    ln_trace.append([])
                    ln_span.append([])
                    ln_state.append([])
                link_attrs.end_row()
                out.accepted += 1
    if out.accepted:
        built = {
            "ResourceAttributes": resources,
            "SpanAttributes": attributes,
            "Events.Attributes": event_attrs,
            "Links.Attributes": link_attrs,
        }
        arrays = [
            built[f.name].to_arrow() if f.name in built else pa.array(cols[f.name], f.type) for f in tables.TRACES
        ]
        out.tables["otel_traces"] = pa.Table.from_arrays(arrays, schema=tables.TRACES)
    return out


def invalid_span(span: Any) -> str:
    """Why a span cannot be stored, or "" (store/otlp/trace_functions.sql's lkd_otlp_valid states the same rules)."""
    if not is_valid_trace_id(span.trace_id):
        return f"invalid trace_id ({len(span.trace_id)} bytes, want 16 and not all zero)"
    if not is_valid_span_id(span.span_id):
        return f"invalid span_id ({len(span.span_id)} bytes, want 8 and not all zero)"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"invalid parent_span_id ({len(span.parent_span_id)} bytes, want 8 or empty)"
    if span.start_time_unix_nano > MAX_TIMESTAMP_NS or span.end_time_unix_nano > MAX_TIMESTAMP_NS:
        return "timestamp beyond 2262-04-11 (DateTime64(9) range)"
    if not span.name:
        return "empty span name"
    return ""
