"""docs/connect.md's three ways to connect an agent, each snippet run as written (only the server's
address put in) in a real livekit-agents job against a real server. The helper's snippet (way 1)
is run by test_setup_helper.py's first test, which checks everything it sends; here the plain
OpenTelemetry setup (way 2) and the environment-variable block (way 3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from livekit_dashboard.server import DashboardServer
from tests.agents.helper_session import DOCS_ENDPOINT, run, snippet, usage_totals

RANGE = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
LIVEKIT_KEY = "APIconnectDocsKey"
LIVEKIT_SECRET = "connect-docs-secret-0123456789abcdefghijklmnop"


def calls(server: DashboardServer) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.base_url}/api/v1/calls", params=RANGE, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["calls"])


def exports(block: str) -> dict[str, str]:
    """The `export NAME=value` lines of a shell block."""
    return dict(re.findall(r"^export (\w+)=(.*)$", block, re.MULTILINE))


def test_the_page_shows_three_ways_each_a_runnable_snippet() -> None:
    for name in ("helper", "opentelemetry"):
        code = snippet(name)
        compile(code, f"docs/connect.md ({name})", "exec")
        assert code.count(DOCS_ENDPOINT) == 1, f"the {name} snippet names the server once, as {DOCS_ENDPOINT}"
        assert "async def entrypoint(ctx: JobContext)" in code
    assert "setup_observability(" in snippet("helper")
    variables = exports(snippet("environment"))
    assert variables["LIVEKIT_OBSERVABILITY_URL"] == DOCS_ENDPOINT
    assert set(variables) == {"LIVEKIT_OBSERVABILITY_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"}


@pytest.mark.slow
def test_the_plain_opentelemetry_snippet(server: DashboardServer, tmp_path: Path) -> None:
    worker = tmp_path / "plain_otel.py"
    worker.write_text(snippet("opentelemetry").replace(DOCS_ENDPOINT, server.base_url))
    ran = run(tmp_path, "worker", str(worker))
    job_id = ran["ids"]["job_id"]
    truth = usage_totals(ran["usage"])

    # nothing posted: the record is derived from the spans and counters, and equals session.usage
    (call,) = calls(server)
    assert (call["call_id"], call["source"]) == (job_id, "telemetry")
    assert (call["service"], call["assistant_id"]) == ("support-agent", "support-v2")
    assert call["turns"] == 2
    for field, expected in truth.items():
        assert call[field] == pytest.approx(expected), field
    page = httpx.get(f"{server.base_url}/api/v1/calls/{job_id}", timeout=30).json()
    assert len(page["turns"]) == 2
    assert "looking up the weather" in [entry["body"] for entry in page["logs"]]
    bounds = server.engine.query(
        "SELECT DISTINCT ExplicitBounds AS b FROM otel_metrics_histogram "
        "WHERE MetricName = 'lk.agents.turn.e2e_latency'"
    )
    assert [row["b"] for row in bounds] == [[0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30]]


@pytest.mark.slow
def test_the_environment_variable_block(make_server: Any, tmp_path: Path) -> None:
    """Way 3 with the block's variables (the LiveKit key and secret made up) and a session that
    records; the server holds the same key and secret. tests/api covers what such a worker sends in
    depth; this shows the page's block is all it takes."""
    server = make_server(livekit_api_key=LIVEKIT_KEY, livekit_api_secret=LIVEKIT_SECRET)
    variables = exports(snippet("environment"))
    variables["LIVEKIT_OBSERVABILITY_URL"] = variables["LIVEKIT_OBSERVABILITY_URL"].replace(
        DOCS_ENDPOINT, server.base_url
    )
    variables["LIVEKIT_API_KEY"] = LIVEKIT_KEY
    variables["LIVEKIT_API_SECRET"] = LIVEKIT_SECRET
    ran = run(tmp_path, "cloud", env=variables)
    truth = usage_totals(ran["usage"])

    (call,) = calls(server)
    assert (call["call_id"], call["source"]) == (ran["ids"]["job_id"], "posted")
    assert call["turns"] == 2
    for field, expected in truth.items():
        assert call[field] == pytest.approx(expected), field
