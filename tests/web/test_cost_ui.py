"""Cost in real headless Chromium: the cost tiles and tables draw what their APIs return, the call list's
Cost column sorts, the call page itemises the call, and a price set on /prices re-prices the calls."""

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
from tests.web.test_browser import RANGE, chart_pixel

ADMIN = "admin-key-for-cost-ui-0123456789"


@pytest.fixture(scope="module")
def site(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[dict[str, Any]]:
    with serving(chdb_dir, database_pool, grpc_port=0, admin_key=ADMIN) as server:
        generate(DemoConfig(calls=30, days=1, seed=13, end_ns=time.time_ns() - 120 * 10**9), server.base_url)
        yield {"server": server, "url": server.base_url}


def api(site: dict[str, Any], path: str) -> Any:
    r = httpx.get(f"{site['url']}{path}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)


def test_cost_panels_draw_what_the_api_returns(page: Page, site: dict[str, Any]) -> None:
    totals = api(site, f"/api/v1/panels/cost_totals?{RANGE}")["rows"][0]
    models = api(site, f"/api/v1/panels/cost_models?{RANGE}")["rows"]
    agents = api(site, f"/api/v1/panels/cost_by?{RANGE}&limit=10")["rows"]
    assert totals["calls"] == 30
    assert totals["cost_usd"] > 0
    open_page(page, f"{site['url']}/?{RANGE}")
    tile = page.locator('[data-panel="cost_totals"] [data-metric="cost_usd"]')
    expect(tile).to_have_attribute("data-value", str(totals["cost_usd"]))
    expect(page.locator('[data-panel="cost_models"] tbody tr')).to_have_count(len(models))
    expect(page.locator('[data-panel="cost_by"] tbody tr')).to_have_count(len(agents))
    # its stages named as the tiles name them (LLM, not llm)
    names = page.evaluate(
        """() => document.querySelector("section[data-panel=cost_over_time] .chart").lkdChart.getOption()
             .series.map((s) => s.name)"""
    )
    assert names
    assert set(names) <= {"LLM", "TTS", "STT", "realtime"}, names
    # the chart splits by model on request, and a bucket opens its most expensive calls
    page.select_option('[data-panel="cost_over_time"] select.by-select', "model")
    expect(page.locator('[data-panel="cost_over_time"]')).to_have_attribute("data-state", "ready")
    # an agent's row opens the call list of that agent, most expensive first
    page.locator('[data-panel="cost_by"] tbody tr').first.locator("a.row-link").click()
    page.wait_for_url("**/calls?**sort=cost_usd**")
    page.wait_for_selector(".calls-view tbody tr")
    expect(page.locator("#call-sort")).to_have_value("cost_usd")


def test_call_list_and_page_show_the_calls_cost(page: Page, site: dict[str, Any]) -> None:
    top = api(site, f"/api/v1/calls?{RANGE}&sort=cost_usd&limit=3")["calls"]
    assert top[0]["cost_usd"] >= top[1]["cost_usd"] >= top[2]["cost_usd"]
    open_page(page, f"{site['url']}/calls?{RANGE}&sort=cost_usd")
    rows = page.locator(".calls-view tbody tr")
    expect(rows.first).to_contain_text(top[0]["room_name"])
    expect(rows.first.locator("td").last).to_contain_text("$")
    rows.first.click()
    page.wait_for_url(f"**/calls/{top[0]['call_id']}")
    section = page.locator(".call-cost")
    record = api(site, f"/api/v1/calls/{top[0]['call_id']}")["record"]
    expect(section.locator("tbody tr")).to_have_count(len(record["cost_lines"]))
    expect(section.locator("h2")).to_contain_text("$")


def test_a_price_set_on_the_prices_page_reprices_the_calls(page: Page, site: dict[str, Any]) -> None:
    listed = api(site, "/api/v1/prices")
    llm = next(m for m in listed["models"] if m["stage"] == "llm")
    before = api(site, f"/api/v1/panels/cost_totals?{RANGE}&model={llm['model']}")["rows"][0]
    assert before["calls"] > 0
    page.add_init_script(f"sessionStorage.setItem('lkd.key', '{ADMIN}')")
    open_page(page, f"{site['url']}/prices?model={llm['model']}")
    expect(page.locator(".prices-view table").first.locator("tbody tr")).to_have_count(len(listed["models"]))
    form = page.locator("#price-form")
    form.locator("input[name=provider]").fill(llm["provider"])
    form.locator("input[name=input_mtok]").fill("1000")
    form.locator("input[name=cache_read_mtok]").fill("1000")
    form.locator("input[name=output_mtok]").fill("1000")
    form.locator("button[type=submit]").click()
    expect(page.locator("#price-status")).to_contain_text("priced again")
    after = api(site, f"/api/v1/panels/cost_totals?{RANGE}&model={llm['model']}")["rows"][0]
    assert after["cost_usd"] > before["cost_usd"] * 50
    prices = api(site, "/api/v1/prices")
    (mine,) = prices["overrides"]
    assert (mine["provider"], mine["model"], mine["input_mtok"]) == (llm["provider"], llm["model"], 1000)
    # without a super-admin key the page says so instead of saving
    page.evaluate("sessionStorage.removeItem('lkd.key')")
    form.locator("input[name=input_mtok]").fill("1")
    form.locator("button[type=submit]").click()
    expect(page.locator("#price-status")).to_contain_text("super-admin")


def test_dollar_amounts_below_a_dollar_keep_three_significant_digits(page: Page, site: dict[str, Any]) -> None:
    open_page(page, f"{site['url']}/calls?{RANGE}&sort=cost_usd")
    shown = page.evaluate(
        """() => import("/static/format.js").then(({ formatUSD }) =>
             [0.046, 0.009846, 0.5, 0.000123456, 1.234, 12345, 0, 0.0000001, -0.25].map(formatUSD))"""
    )
    assert shown == ["$0.0460", "$0.00985", "$0.500", "$0.000123", "$1.23", "$12.3k", "$0", "<$0.000001", "-$0.250"]
    # the call list's column: every priced cost below a dollar with three significant digits
    cells = page.locator(".calls-view tbody tr td:last-child").all_inner_texts()
    amounts = [c.split("+")[0].strip() for c in cells if c.strip().startswith("$0.")]
    assert amounts
    assert all(len(a.removeprefix("$0.").lstrip("0")) == 3 for a in amounts), amounts


def test_a_cost_bar_opens_the_calls_it_sums(page: Page, site: dict[str, Any]) -> None:
    """The chart sums the calls started in each bucket; a click on a bar lists exactly those calls, and
    their costs add up to the bar."""
    from urllib.parse import parse_qs, urlparse

    data = api(site, f"/api/v1/panels/cost_over_time?{RANGE}")
    totals: dict[int, float] = {}
    for row in data["rows"]:
        totals[row["bucket"]] = totals.get(row["bucket"], 0.0) + row["cost_usd"]
    bucket, total = max(totals.items(), key=lambda kv: kv[1])
    open_page(page, f"{site['url']}/?{RANGE}")
    x, y = chart_pixel(page, "cost_over_time", bucket * 1000, total / 2)
    page.mouse.click(x, y)
    page.wait_for_url("**/calls?**sort=cost_usd**")
    query = parse_qs(urlparse(page.url).query)
    assert "active" not in query  # the calls started in the bucket, as the bar counts them
    listed = api(site, f"/api/v1/calls?start={query['start'][0]}&end={query['end'][0]}&limit=1000")
    assert listed["calls"]
    assert sum(c["cost_usd"] or 0 for c in listed["calls"]) == pytest.approx(total, rel=1e-6)


def test_the_cost_tiles_span_the_dashboard(page: Page, site: dict[str, Any]) -> None:
    """The cost tiles have a row of their own: as wide as the full-width panels, no empty half beside them."""
    page.set_viewport_size({"width": 1440, "height": 900})
    open_page(page, f"{site['url']}/?{RANGE}")

    def width(panel: str) -> float:
        return float(page.locator(f"section[data-panel={panel}]").evaluate("(e) => e.getBoundingClientRect().width"))

    assert width("cost_totals") == pytest.approx(width("cost_models"), abs=2)
