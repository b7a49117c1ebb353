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
