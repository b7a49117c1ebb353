"""The snapshot comparison the storage-path tests rely on (tests/parity.py) sees what a user sees: two
servers fed the same calls read the same, and one call more on one side shows."""

from __future__ import annotations

import time

from livekit_dashboard.demo import DemoConfig, generate
from tests.conftest import ServerFactory
from tests.parity import differences, snapshot, window

NOW = time.time_ns() - 60 * 10**9


def test_same_data_same_snapshot_and_a_difference_shows(make_server: ServerFactory) -> None:
    left, right = make_server(), make_server()
    config = DemoConfig(calls=12, days=1, seed=3, end_ns=NOW)
    generate(config, left.base_url)
    generate(config, right.base_url)
    for server in (left, right):
        server.ingestor.wait_visible()
    range_ = window(NOW - 2 * 86400 * 10**9, NOW + 60 * 10**9)
    a, b = snapshot(left.base_url, range_), snapshot(right.base_url, range_)
    assert len([key for key in a if key.startswith("call ")]) == 12
    assert differences(a, b) == []

    generate(DemoConfig(calls=1, days=0.2, seed=99, end_ns=NOW), right.base_url)
    right.ingestor.wait_visible()
    changed = differences(a, snapshot(right.base_url, range_), limit=100)
    assert any(line.startswith("panel token_usage_totals") for line in changed), changed
    assert any(line.startswith("calls by started_at") for line in changed), changed


def test_floats_compare_to_a_relative_tolerance_not_by_rounding() -> None:
    """A sum whose last bits differ by summation order is the same answer, even where rounding to 12
    digits would part them (CI once failed on 0.0272341791762 against 0.0272341791763); a difference a
    user could see is still one, and so is an int against a float of another value."""
    a = {"panel cost_by": {"rows": [{"cost_per_call_usd": 0.02723417917625001, "calls": 3}]}}
    b = {"panel cost_by": {"rows": [{"cost_per_call_usd": 0.02723417917624999, "calls": 3}]}}
    assert differences(a, b) == []
    c = {"panel cost_by": {"rows": [{"cost_per_call_usd": 0.0272342, "calls": 3}]}}
    assert differences(a, c) == ["panel cost_by: .rows[0].cost_per_call_usd: 0.02723417917625001 against 0.0272342"]
    assert differences({"x": [1.0, 2]}, {"x": [1, 2.0]}) == []
    assert differences({"x": [1.5]}, {"x": [1]}) == ["x: [0]: 1.5 against 1"]
    assert differences({"x": True}, {"x": 1.0}) != []
