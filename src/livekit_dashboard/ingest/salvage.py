"""Salvage: when a protobuf OTLP request does not parse as a whole, keep the records that do.

A single span, log record or metric can make the whole message unparsable (an invalid UTF-8 string,
or an attribute nested past protobuf's limit of 100 message levels, about 32 levels of arrays). This
walks the wire format down to the individual records (protobuf's framing needs no schema: a tag, then
a varint, fixed bytes or a length), tries each record on its own with its resource and scope, and
rebuilds the request from the ones that parse. The dropped ones are reported as partial success.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message

__all__ = ["WireError", "salvage"]

# the field numbers are the same in all three signals: request.1 = Resource<X>s, Resource<X>s.1 =
# resource, .2 = Scope<X>s, Scope<X>s.1 = scope, .2 = the records (spans, log_records, metrics)
_RESOURCES, _RESOURCE, _SCOPES, _SCOPE, _RECORDS = 1, 1, 2, 1, 2
_UNITS = {"ExportTraceServiceRequest": "span", "ExportLogsServiceRequest": "log record"}


class WireError(ValueError):
    """The bytes are not protobuf wire format at all."""


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: memoryview) -> Iterator[tuple[int, bytes]]:
    """(field number, the field's whole encoding: tag and value) of one message's fields."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = _varint(data, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        elif wire_type == 2:
            size, pos = _varint(data, pos)
            pos += size
        else:
            raise WireError(f"unsupported wire type {wire_type}")
        if pos > len(data) or number == 0:
            raise WireError("truncated field")
        yield number, bytes(data[start:pos])


def _payload(field: bytes) -> memoryview:
    """The value of a length-delimited field's encoding (tag and length skipped)."""
    view = memoryview(field)
    _, pos = _varint(view, 0)
    _, pos = _varint(view, pos)
    return view[pos:]


def _wrap(number: int, payload: bytes) -> bytes:
    size, varint = len(payload), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        varint.append(byte | (0x80 if size else 0))
        if not size:
            return bytes([number << 3 | 2]) + bytes(varint) + payload


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return "invalid UTF-8 in a string"
    return f"unparsable ({text[:80] or 'nested too deeply or malformed'})"


def salvage(message_type: type[Message], body: bytes) -> tuple[Any, Counter[str]]:
    """The request rebuilt from the records that parse on their own, and why the others were dropped
    (counted per record). WireError when the body is not protobuf wire format."""
    unit = _UNITS.get(message_type.__name__, "metric")
    dropped: Counter[str] = Counter()
    kept_resources: list[bytes] = []
    for number, resource_field in _fields(memoryview(body)):
        if number != _RESOURCES:
            continue
        head: list[bytes] = []  # the resource and schema url: kept with every record
        scopes: list[tuple[list[bytes], list[bytes]]] = []
        for inner, field in _fields(_payload(resource_field)):
            if inner == _SCOPES:
                scope_head: list[bytes] = []
                records: list[bytes] = []
                for scope_inner, scope_field in _fields(_payload(field)):
                    (records if scope_inner == _RECORDS else scope_head).append(scope_field)
                scopes.append((scope_head, records))
            else:
                head.append(field)
        kept_scopes = []
        for scope_head, records in scopes:
            good = []
            for record in records:
                single = _wrap(_RESOURCES, b"".join(head) + _wrap(_SCOPES, b"".join(scope_head) + record))
                try:
                    message_type.FromString(single)
                except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
                    dropped[f"{unit} dropped: {_reason(exc)}"] += 1
                    continue
                good.append(record)
            if good:
                kept_scopes.append(_wrap(_SCOPES, b"".join(scope_head) + b"".join(good)))
        if kept_scopes:
            kept_resources.append(_wrap(_RESOURCES, b"".join(head) + b"".join(kept_scopes)))
    try:
        return message_type.FromString(b"".join(kept_resources)), dropped
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:  # a resource or scope itself is bad
        raise WireError(str(exc)) from None
