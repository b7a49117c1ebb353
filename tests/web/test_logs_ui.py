"""Logs in real headless Chromium: a log row opens its entry (and from it the trace and the call), and a
search or severity that matches nothing says so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from livekit_dashboard.demo import DemoConfig, generate
from tests.conftest import DatabasePool, serving
from tests.web.test_browser import RANGE, api, open_dashboard


@pytest.fixture(scope="module")
def site(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[dict[str, Any]]:
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        generate(DemoConfig(calls=20, days=1, seed=9, end_ns=time.time_ns() - 120 * 10**9), server.base_url)
        yield {"server": server, "url": server.base_url}


def test_log_row_opens_the_log_entry(page: Page, site: dict[str, Any]) -> None:
    open_dashboard(page, site)
    rows = api(site, "logs", f"{RANGE}&limit=25")["rows"]
    # the newest log written within a span (a session's own logs have a trace and no span)
    index = next(i for i, row in enumerate(rows) if row["span_id"])
    first = rows[index]
    page.locator("section[data-panel=logs] tbody tr").nth(index).click()
    page.wait_for_url(f"**/logs/{first['log_id']}")
    expect(page.locator(".log-body")).to_have_text(first["body"])
    # what the record does not carry is left out, not listed empty
    values = page.locator(".log-view dl.kv dd").all_inner_texts()
    assert values
    assert "" not in [value.strip() for value in values]
    assert first["trace_id"]
    page.click(".trace-link")
    page.wait_for_url(f"**/traces/{first['trace_id']}**")
    expect(page.locator(".wf-row.selected")).to_have_attribute("data-span-id", first["span_id"])
    # a room id opens the call of the job beside it (a call keeps its room's name, not its SID)
    for row in api(site, "logs", f"{RANGE}&limit=25")["rows"]:
        entry = httpx.get(f"{site['url']}/api/v1/logs/{row['log_id']}", timeout=30).json()
        job, room = entry["attributes"].get("job_id"), entry["attributes"].get("room_id")
        if job and room:
            break
    else:
        raise AssertionError("no demo log names its job and room")
    page.goto(f"{site['url']}/logs/{row['log_id']}")
    link = page.locator(".log-view dl.kv a", has_text=room)
    expect(link).to_have_attribute("href", f"/calls?q={job}&start=now-30d")
    link.click()
    page.wait_for_url(f"**/calls/{job}")  # the search lands on the job's call


def test_a_log_search_that_matches_nothing_says_so(page: Page, site: dict[str, Any]) -> None:
    """The range holds logs: a search no body matches names the search, not an empty range."""
    assert api(site, "logs", f"{RANGE}&limit=1")["rows"]
    open_dashboard(page, site)
    panel = page.locator("section[data-panel=logs]")
    search = panel.get_by_label("Search log bodies")
    search.fill("zqxj no such words")
    search.dispatch_event("change")
    expect(panel.locator(".empty")).to_have_text("No log in this time range contains “zqxj no such words”.")
    panel.get_by_label("Minimum severity").select_option("17")
    expect(panel.locator(".empty")).to_have_text("No log at ERROR+ in this time range contains “zqxj no such words”.")
