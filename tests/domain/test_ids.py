"""Id parsing for URLs."""

from __future__ import annotations

import pytest

from livekit_dashboard.domain.ids import LogId, parse_log_id, parse_span_id, parse_trace_id


def test_trace_ids_are_normalised() -> None:
    assert parse_trace_id(" 5B8EFFF798038103D269B633813FC60C ") == "5b8efff798038103d269b633813fc60c"


@pytest.mark.parametrize("bad", ["", "abc", "0" * 32, "g" * 32, "a" * 33])
def test_bad_trace_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="trace id must be 32 hex"):
        parse_trace_id(bad)


def test_span_ids() -> None:
    assert parse_span_id("EEE19B7EC3C1B174") == "eee19b7ec3c1b174"
    with pytest.raises(ValueError, match="span id"):
        parse_span_id("0" * 16)


def test_log_ids_round_trip() -> None:
    log_id = LogId(1795505087744340263, "7c45d77d58b1b69b")
    assert parse_log_id(str(log_id)) == log_id


@pytest.mark.parametrize("bad", ["1-2", "abc-7c45d77d58b1b69b", "99999999999999999999-7c45d77d58b1b69b", ""])
def test_bad_log_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="log id must look like"):
        parse_log_id(bad)
