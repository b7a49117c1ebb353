"""Time ranges: now-relative and ISO 8601 times, bucket widths, and the bounds of what can be stored."""

from __future__ import annotations

import pytest

from livekit_dashboard.domain.timerange import (
    MAX_TIMESTAMP_NS,
    choose_step_s,
    format_ch_time,
    parse_duration_s,
    parse_iso8601_ns,
    parse_time_ns,
)

NOW = 1_790_000_000 * 10**9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("now-6h", NOW - 6 * 3600 * 10**9),
        ("now - 15m", NOW - 15 * 60 * 10**9),
        ("now-2d", NOW - 2 * 86400 * 10**9),
        ("now-1w", NOW - 7 * 86400 * 10**9),
        ("2026-11-24T10:00:00Z", 1_795_514_400 * 10**9),
        ("2026-11-24T12:00:00+02:00", 1_795_514_400 * 10**9),
        ("2026-11-24T10:00:00", 1_795_514_400 * 10**9),  # naive means UTC
        ("2026-11-24T10:00:00.250Z", 1_795_514_400 * 10**9 + 250_000_000),
        ("2026-11-24", 1_795_478_400 * 10**9),
    ],
)
def test_parse_time(text: str, expected: int) -> None:
    assert parse_time_ns(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "now-6x", "now+1h", "", "2026-13-01"])
def test_parse_time_refuses_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time_ns(text, NOW)


@pytest.mark.parametrize("text", ["1960-01-01T00:00:00Z", "2300-01-01T00:00:00Z"])
def test_times_outside_what_can_be_stored_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_iso8601_ns(text)
    with pytest.raises(ValueError, match="out of range"):
        parse_time_ns(text, NOW)


def test_iso8601_alone_refuses_relative_times() -> None:
    with pytest.raises(ValueError, match="expected ISO 8601"):
        parse_iso8601_ns("now-1h")


@pytest.mark.parametrize(("text", "seconds"), [("60", 60), ("5m", 300), ("1h", 3600), ("1d", 86400), ("2w", 1209600)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["0", "0m", "-5m", "5y", "fast"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="positive duration"):
        parse_duration_s(text)


@pytest.mark.parametrize(
    ("range_s", "step_s"),
    [(900, 10), (3600, 30), (6 * 3600, 300), (86400, 900), (7 * 86400, 7200), (30 * 86400, 21600)],
)
def test_step_gives_at_most_120_buckets_on_clock_boundaries(range_s: int, step_s: int) -> None:
    step = choose_step_s(range_s * 10**9)
    assert step == step_s
    assert range_s / step <= 120


def test_clickhouse_time_format_keeps_nanoseconds() -> None:
    assert format_ch_time(1_795_514_400 * 10**9 + 123_456_789) == "2026-11-24 10:00:00.123456789"
    assert format_ch_time(MAX_TIMESTAMP_NS).startswith("2262-04-11 23:47:16")
