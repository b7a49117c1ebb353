"""Identifiers: trace, span and log ids as they appear in URLs and storage."""

from __future__ import annotations

import re
from dataclasses import dataclass

from livekit_dashboard.domain.timerange import MAX_TIMESTAMP_NS

__all__ = [
    "LogId",
    "is_valid_span_id",
    "is_valid_trace_id",
    "parse_log_id",
    "parse_span_id",
    "parse_trace_id",
]

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
_LOG_ID = re.compile(r"^([0-9]{1,20})-([0-9a-f]{16})$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


def is_valid_trace_id(raw: bytes) -> bool:
    """OTLP rule: 16 bytes, not all zero."""
    return len(raw) == 16 and raw != b"\x00" * 16


def is_valid_span_id(raw: bytes) -> bool:
    """OTLP rule: 8 bytes, not all zero."""
    return len(raw) == 8 and raw != b"\x00" * 8


def parse_trace_id(text: str) -> str:
    """Normalise a trace id from a URL to the stored form (32 lowercase hex chars).

    Raises ValueError with a user-facing message when it is not one.
    """
    value = text.strip().lower()
    if not _TRACE_ID.match(value) or value == _ZERO_TRACE:
        raise ValueError(f"trace id must be 32 hex characters and not all zero, got {text[:80]!r}")
    return value


def parse_span_id(text: str) -> str:
    """Normalise a span id from a URL to the stored form (16 lowercase hex chars)."""
    value = text.strip().lower()
    if not _SPAN_ID.match(value) or value == _ZERO_SPAN:
        raise ValueError(f"span id must be 16 hex characters and not all zero, got {text[:80]!r}")
    return value


@dataclass(frozen=True, slots=True)
class LogId:
    """A log record's stable id: ``<timestamp ns>-<16 hex of a content hash>``.

    Log records have no id in OTLP, so the id is derived from stored columns (see
    docs/api.md): the timestamp lets the lookup prune by time, the hash tells apart
    records that share a timestamp. Identical records share an id.
    """

    timestamp_ns: int
    content_hash: str

    def __str__(self) -> str:
        return f"{self.timestamp_ns}-{self.content_hash}"


def parse_log_id(text: str) -> LogId:
    """Parse a log id from a URL; ValueError with a user-facing message when malformed."""
    match = _LOG_ID.match(text.strip().lower())
    if not match or int(match.group(1)) > MAX_TIMESTAMP_NS:
        raise ValueError(
            f"log id must look like '<timestamp ns>-<16 hex chars>' (as listed by /api/v1/logs), got {text[:80]!r}"
        )
    return LogId(int(match.group(1)), match.group(2))
