"""Decoding: OTLP request bodies (protobuf or JSON, optionally gzip) -> Export*ServiceRequest.

Every failure becomes a DecodeError carrying the HTTP status and a message that says what is
wrong, so the transport can answer 400/413/415 without guessing.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import zlib
from collections import Counter
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from livekit_dashboard.ingest.salvage import WireError, salvage

__all__ = [
    "DecodeError",
    "Encoding",
    "Signal",
    "decompress",
    "encode_error",
    "encode_response",
    "encoding_for_content_type",
    "parse_request",
    "parse_request_salvaging",
    "response_for",
]

# an id that is not valid hex is replaced by one byte, which then fails the length check
# and is reported per record (partial success) rather than failing the whole request
_BAD_ID_B64 = base64.b64encode(b"\xff").decode("ascii")


class Signal(enum.StrEnum):
    TRACES = "traces"
    LOGS = "logs"
    METRICS = "metrics"


class Encoding(enum.StrEnum):
    PROTOBUF = "protobuf"
    JSON = "json"


class DecodeError(ValueError):
    """A request body we cannot accept; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.encoding: Encoding | None = None  # the request's, to answer in (None: unknown, JSON)


_REQUESTS: dict[Signal, type[Message]] = {
    Signal.TRACES: ExportTraceServiceRequest,
    Signal.LOGS: ExportLogsServiceRequest,
    Signal.METRICS: ExportMetricsServiceRequest,
}
_RESPONSES: dict[Signal, type[Message]] = {
    Signal.TRACES: ExportTraceServiceResponse,
    Signal.LOGS: ExportLogsServiceResponse,
    Signal.METRICS: ExportMetricsServiceResponse,
}


def response_for(signal: Signal) -> Any:
    return _RESPONSES[signal]()


MEDIA_TYPES = {Encoding.PROTOBUF: "application/x-protobuf", Encoding.JSON: "application/json"}
# google.rpc.Code values for the HTTP statuses OTLP answers with
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 413: 8, 415: 3, 429: 8, 503: 14, 500: 13}


def encode_response(response: Message, encoding: Encoding) -> tuple[bytes, str]:
    """An Export*ServiceResponse in the request's encoding, with its media type."""
    if encoding is Encoding.PROTOBUF:
        return response.SerializeToString(), MEDIA_TYPES[encoding]
    return json_format.MessageToJson(response, indent=None).encode(), MEDIA_TYPES[Encoding.JSON]


def encode_error(status: int, message: str, encoding: Encoding | None) -> tuple[bytes, str]:
    """An OTLP error body: google.rpc.Status in the request's encoding (JSON when unknown)."""
    code = _RPC_CODES.get(status, 2)
    if encoding is Encoding.PROTOBUF:
        return status_pb2.Status(code=code, message=message).SerializeToString(), MEDIA_TYPES[encoding]
    return json.dumps({"code": code, "message": message}).encode(), MEDIA_TYPES[Encoding.JSON]


def encoding_for_content_type(content_type: str | None) -> Encoding:
    """Map a Content-Type header to an encoding; DecodeError(415) for anything else."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("application/x-protobuf", "application/protobuf"):
        return Encoding.PROTOBUF
    if media == "application/json":
        return Encoding.JSON
    shown = media or "none"
    raise DecodeError(
        415,
        f"unsupported content type {shown!r}: send application/x-protobuf or application/json",
    )


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo Content-Encoding (identity or gzip), refusing output past max_bytes (gzip bombs)."""
    coding = (content_encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding != "gzip":
        raise DecodeError(415, f"unsupported content encoding {coding!r}: use gzip or none")
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise DecodeError(400, f"body is not valid gzip: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise DecodeError(413, f"decompressed body exceeds the limit of {max_bytes} bytes")
    if not inflater.eof:
        raise DecodeError(400, "body is not valid gzip: truncated stream")
    return out


def parse_request(signal: Signal, encoding: Encoding, body: bytes) -> Any:
    """Parse an Export<Signal>ServiceRequest from protobuf or OTLP/JSON bytes."""
    message = _REQUESTS[signal]()
    if encoding is Encoding.PROTOBUF:
        try:
            message.ParseFromString(body)
        except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
            raise DecodeError(400, f"malformed protobuf Export{_title(signal)}ServiceRequest: {exc}") from None
        return message
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(400, f"malformed JSON: {exc}") from None
    except RecursionError:
        raise DecodeError(400, "malformed JSON: nested too deeply") from None
    if not isinstance(document, dict):
        raise DecodeError(400, f"malformed OTLP/JSON: the top level must be an object, got {type(document).__name__}")
    try:
        _hex_ids_to_base64(signal, document)
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, AttributeError, ValueError) as exc:
        raise DecodeError(400, f"malformed OTLP/JSON Export{_title(signal)}ServiceRequest: {exc}") from None
    except RecursionError:
        raise DecodeError(400, f"malformed OTLP/JSON Export{_title(signal)}ServiceRequest: nested too deeply") from None
    return message


def parse_request_salvaging(signal: Signal, encoding: Encoding, body: bytes) -> tuple[Any, Counter[str]]:
    """parse_request, except that a protobuf body whose records do not all parse keeps those that do;
    also returns why records were dropped (per record)."""
    try:
        return parse_request(signal, encoding, body), Counter()
    except DecodeError:
        if encoding is not Encoding.PROTOBUF:
            raise
        try:
            return salvage(_REQUESTS[signal], body)
        except WireError:
            pass
        raise


def _title(signal: Signal) -> str:
    return "Trace" if signal is Signal.TRACES else signal.value.capitalize()


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _items(obj: Any, camel: str, snake: str) -> list[Any]:
    if not isinstance(obj, dict):
        return []
    value = _get(obj, camel, snake)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _fix_ids(record: dict[str, Any], *keys: tuple[str, str]) -> None:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping expects base64."""
    for camel, snake in keys:
        for key in (camel, snake):
            value = record.get(key)
            if isinstance(value, str) and value:
                try:
                    raw = binascii.unhexlify(value)
                except (binascii.Error, ValueError):
                    record[key] = _BAD_ID_B64
                else:
                    record[key] = base64.b64encode(raw).decode("ascii")


_TRACE = ("traceId", "trace_id")
_SPAN = ("spanId", "span_id")


def _hex_ids_to_base64(signal: Signal, doc: dict[str, Any]) -> None:
    if signal is Signal.TRACES:
        for rs in _items(doc, "resourceSpans", "resource_spans"):
            for ss in _items(rs, "scopeSpans", "scope_spans"):
                for span in _items(ss, "spans", "spans"):
                    _fix_ids(span, _TRACE, _SPAN, ("parentSpanId", "parent_span_id"))
                    for link in _items(span, "links", "links"):
                        _fix_ids(link, _TRACE, _SPAN)
    elif signal is Signal.LOGS:
        for rl in _items(doc, "resourceLogs", "resource_logs"):
            for sl in _items(rl, "scopeLogs", "scope_logs"):
                for record in _items(sl, "logRecords", "log_records"):
                    _fix_ids(record, _TRACE, _SPAN)
    else:
        for rm in _items(doc, "resourceMetrics", "resource_metrics"):
            for sm in _items(rm, "scopeMetrics", "scope_metrics"):
                for metric in _items(sm, "metrics", "metrics"):
                    for kind in (
                        "gauge",
                        "sum",
                        "histogram",
                        "exponentialHistogram",
                        "exponential_histogram",
                    ):
                        data = metric.get(kind)
                        for point in _items(data, "dataPoints", "data_points"):
                            for exemplar in _items(point, "exemplars", "exemplars"):
                                _fix_ids(exemplar, _TRACE, _SPAN)
