"""Time ranges: parse `start`/`end` (ISO 8601 or now-relative) and choose a chart bucket."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = [
    "MAX_TIMESTAMP_NS",
    "choose_step_s",
    "format_ch_time",
    "parse_duration_s",
    "parse_iso8601_ns",
    "parse_time_ns",
]

_RELATIVE = re.compile(r"^now(?:\s*-\s*(\d+)\s*(s|m|h|d|w))?$")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d|w)?$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# steps a chart may use, so buckets line up with clock boundaries
_STEPS_S = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 7 * 86400)
# DateTime64(9) ends at 2262-04-11 23:47:16: later instants cannot be stored
MAX_TIMESTAMP_NS = 2**63 - 1


def _iso8601_ns(text: str) -> int | None:
    """ns since the epoch of an ISO 8601 time (a naive time is UTC), None when it is not one;
    ValueError when it is one outside 1970..2262."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    seconds = parsed.timestamp()
    if seconds < 0 or seconds * 1e9 > MAX_TIMESTAMP_NS:
        raise ValueError(f"time out of range (1970..2262): {text[:60]!r}")
    return int(seconds) * 10**9 + parsed.microsecond * 1000


def parse_iso8601_ns(text: str) -> int:
    """ISO 8601 (`2026-11-24`, `2026-11-24T10:00:00Z`, with an offset; a naive time is UTC) as ns since
    the epoch; ValueError when it is not one or lies outside 1970..2262."""
    ns = _iso8601_ns(text)
    if ns is None:
        raise ValueError(f"expected ISO 8601 (e.g. 2026-11-01 or 2026-11-01T00:00:00Z), got {text[:60]!r}")
    return ns


def parse_time_ns(text: str, now_ns: int) -> int:
    """`now`, `now-6h` (s/m/h/d/w) or ISO 8601 (a naive time is UTC); ValueError when neither."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        amount, unit = match.group(1), match.group(2)
        return now_ns - (int(amount) * _UNIT_S[unit] * 10**9 if amount else 0)
    ns = _iso8601_ns(value)
    if ns is None:
        raise ValueError(f"expected ISO 8601 (2026-11-24T10:00:00Z) or now-relative (now-6h), got {text[:60]!r}")
    return ns


def parse_duration_s(text: str) -> int:
    """A bucket width: seconds (`60`) or with a unit (`5m`, `1h`, `1d`)."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a positive duration like 60, 5m, 1h or 1d, got {text[:30]!r}")
    return int(match.group(1)) * _UNIT_S[match.group(2) or "s"]


def choose_step_s(range_ns: int, points: int = 120) -> int:
    """The smallest standard step that gives at most `points` buckets over the range."""
    want = range_ns / 1e9 / points
    for step in _STEPS_S:
        if step >= want:
            return step
    return _STEPS_S[-1]


def format_ch_time(ns: int) -> str:
    """A UTC instant as a DateTime64(9) parameter value."""
    seconds, frac = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S") + f".{frac:09d}"
