"""The first run and keys in real headless Chromium: an empty server shows how to connect (its real
ports, which take the data) with counters that tick when spans arrive; a range with nothing in it
links to where the latest data is; the panels' info icons are drawn without a font glyph and open by
keyboard and by touch; the key in use is named in the header, can be forgotten, and is remembered for
the browser only when asked."""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from playwright.sync_api import Browser, Page, expect

from livekit_dashboard.demo import DemoConfig, generate
from tests.conftest import DatabasePool, ServerFactory, serving
from tests.helpers import make_spans

_DAY_NS = 86400 * 10**9


def _loaded(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-loaded=true]", timeout=30_000)


def test_an_empty_server_shows_its_endpoints_and_counts_what_arrives(page: Page, make_server: ServerFactory) -> None:
    server = make_server()
    _loaded(page, f"{server.base_url}/")
    expect(page.locator(".connect h2")).to_contain_text("connect your LiveKit agents")
    assert page.locator("section.panel[data-panel]").count() == 0  # no empty panels
    http = page.locator("[data-endpoint=http] code").inner_text()
    grpc = page.locator("[data-endpoint=grpc] code").inner_text()
    assert http == f"http://127.0.0.1:{server.http_port}"
    assert grpc == f"http://127.0.0.1:{server.grpc_port}"
    expect(page.locator("pre[data-snippet=livekit]")).to_contain_text(f"LIVEKIT_OBSERVABILITY_URL={http}")
    expect(page.locator("pre[data-snippet=helper]")).to_contain_text(f'setup_observability("{http}"')
    spans_tile = page.locator(".connect-counters [data-signal=traces]")
    expect(spans_tile.locator("[data-count=received]")).to_have_text("0")
    expect(page.locator(".open-dashboard")).to_have_count(0)

    # the endpoints shown take the data: OTLP/HTTP at the HTTP one, OTLP/gRPC at the gRPC one
    by_http = make_spans(service="connect-http")
    sent = httpx.post(
        f"{http}/v1/traces",
        content=encode_spans(by_http).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert sent.status_code == 200
    expect(spans_tile).to_have_attribute("data-value", str(len(by_http)))
    expect(spans_tile.locator("[data-count=detail]")).to_have_text(f"{len(by_http)} stored")
    by_grpc = make_spans(service="connect-grpc")
    exporter = GrpcSpanExporter(endpoint=grpc, insecure=True)
    try:
        assert exporter.export(by_grpc) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    expect(spans_tile).to_have_attribute("data-value", str(len(by_http) + len(by_grpc)))
    expect(page.locator(".connect-counters [data-signal=logs]")).to_have_attribute("data-value", "0")

    page.click(".open-dashboard")
    expect(page.locator("section[data-panel=token_usage_totals]")).to_have_attribute("data-state", "ready")
    assert page.locator(".connect").count() == 0


@pytest.fixture(scope="module")
def old_data(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[dict[str, Any]]:
    """A server whose only data is three days old: outside the default range (the last 6 hours)."""
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        generate(DemoConfig(calls=4, days=0.2, seed=3, end_ns=time.time_ns() - 3 * _DAY_NS), server.base_url)
        yield {"url": server.base_url}


def test_a_range_without_data_links_to_the_latest_data(page: Page, old_data: dict[str, Any]) -> None:
    extent = httpx.get(f"{old_data['url']}/api/v1/data/extent", timeout=30).json()
    assert not extent["empty"]
    newest_s = extent["newest_unix_nano"] / 1e9
    assert 2.5 * 86400 < time.time() - newest_s < 3.5 * 86400
    _loaded(page, f"{old_data['url']}/")  # the default range: the last 6 hours
    states = {s.get_attribute("data-state") for s in page.query_selector_all("section.panel[data-panel]")}
    assert states == {"empty"}
    hint = page.locator(".latest-data")
    expect(hint).to_contain_text("No data in this time range. The latest data is at")
    shown = hint.locator("time").get_attribute("datetime") or ""
    assert abs(datetime.datetime.fromisoformat(shown).timestamp() - newest_s) < 0.002
    link = hint.locator("a.latest-data-link")
    expect(link).to_have_text("Show the last 7 days")
    link.click()
    page.wait_for_url(re.compile(r"start=now-7d"))
    expect(page.locator("#range")).to_have_value("now-7d")
    expect(page.locator("section[data-panel=token_usage_totals]")).to_have_attribute("data-state", "ready")
    totals = httpx.get(f"{old_data['url']}/api/v1/panels/token_usage_totals?start=now-7d", timeout=30).json()["rows"][0]
    assert totals["total_tokens"] > 0
    expect(page.locator("[data-metric=total_tokens]")).to_have_attribute("data-value", str(totals["total_tokens"]))
    expect(page.locator(".latest-data")).to_have_count(0)


def test_info_icons_are_drawn_and_open_by_keyboard_and_touch(browser: Browser, old_data: dict[str, Any]) -> None:
    descriptions = {
        p["name"]: p["description"] for p in httpx.get(f"{old_data['url']}/api/v1/panels", timeout=30).json()["panels"]
    }
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _loaded(page, f"{old_data['url']}/?start=now-7d")
    icon = page.locator("section[data-panel=error_rate] button.info")
    tip = page.locator("section[data-panel=error_rate] .info-tip")
    # an inline SVG, no text: nothing for a font to lack a glyph for
    assert icon.inner_text().strip() == ""
    box = icon.locator("svg").bounding_box()
    assert box is not None
    assert box["width"] >= 10
    assert box["height"] >= 10
    assert icon.locator("svg circle").count() == 2
    expect(tip).to_be_hidden()

    # keyboard: Tab from the panel before it lands on the icon and shows the description
    page.locator("section[data-panel=token_usage_totals] button.info").focus()
    page.keyboard.press("Escape")  # the previous icon's own tooltip closes
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('section').dataset.panel") == "error_rate"
    expect(tip).to_be_visible()
    expect(tip).to_have_text(descriptions["error_rate"])
    assert icon.get_attribute("aria-describedby") == tip.get_attribute("id")
    page.keyboard.press("Tab")  # focus moves on: hidden again
    expect(tip).to_be_hidden()

    # touch: a tap toggles it
    cost = page.locator("section[data-panel=cost_totals] button.info")
    cost_tip = page.locator("section[data-panel=cost_totals] .info-tip")
    cost.scroll_into_view_if_needed()
    cost.tap()
    expect(cost_tip).to_be_visible()
    expect(cost_tip).to_have_text(descriptions["cost_totals"])
    cost.tap()
    expect(cost_tip).to_be_hidden()
    # a mouse shows it while over the icon
    hovered = page.locator("section[data-panel=requests_over_time] .info-wrap")
    hovered.hover()
    expect(hovered.locator(".info-tip")).to_be_visible()
    page.mouse.move(5, 500)
    expect(hovered.locator(".info-tip")).to_be_hidden()
    # the rightmost panel's tooltip stays inside the window
    right = page.locator("section[data-panel=turns_per_conversation] button.info")
    right.tap()
    right_box = page.locator("section[data-panel=turns_per_conversation] .info-tip").bounding_box()
    assert right_box is not None
    assert right_box["x"] + right_box["width"] <= 1440
    context.close()
    assert errors == []


ADMIN = "onboarding-admin-key-0123456789"


def _enter_key(page: Page, key: str, *, remember: bool) -> None:
    expect(page.locator(".key-form")).to_be_visible()
    page.fill("#api-key", key)
    if remember:
        page.check("#remember-key")
    page.click(".key-form button[type=submit]")
    page.wait_for_selector("body[data-loaded=true]")
    expect(page.locator(".key-form")).to_have_count(0)


def test_the_key_in_use_is_named_forgotten_and_remembered_only_when_asked(
    browser: Browser, make_server: ServerFactory
) -> None:
    server = make_server(auth="required", admin_key=ADMIN)
    created = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={"name": "wallboard", "role": "viewer"},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    ).json()
    context = browser.new_context()
    errors: list[str] = []
    context.on("weberror", lambda e: errors.append(str(e.error)))
    page = context.new_page()
    page.goto(f"{server.base_url}/")
    _enter_key(page, created["key"], remember=False)
    status = page.locator("#key-status")
    expect(status).to_have_attribute("data-role", "viewer")
    expect(status.locator(".key-role")).to_have_text("viewer key · wallboard")
    expect(status.locator(".key-remembered")).to_have_count(0)
    # kept for this tab only: another tab asks again
    other = context.new_page()
    other.goto(f"{server.base_url}/")
    expect(other.locator(".key-form")).to_be_visible()
    other.close()

    # forget: gone from the header and from the browser, the server asks for a key again
    page.click("#forget-key")
    expect(page.locator(".key-form")).to_be_visible()
    expect(status).to_be_empty()
    assert page.evaluate("[sessionStorage.getItem('lkd.key'), localStorage.getItem('lkd.key')]") == [None, None]

    # remembered on this browser: a new tab (a link opened there) works without asking
    _enter_key(page, ADMIN, remember=True)
    expect(status).to_have_attribute("data-role", "super-admin")
    expect(status.locator(".key-remembered")).to_have_text(" · remembered on this browser")
    tab = context.new_page()
    tab.goto(f"{server.base_url}/calls")
    tab.wait_for_selector(".calls-view")
    expect(tab.locator(".key-form")).to_have_count(0)
    expect(tab.locator("#key-status")).to_have_attribute("data-role", "super-admin")
    # forgotten in one tab: the next tab asks again
    tab.click("#forget-key")
    expect(tab.locator(".key-form")).to_be_visible()
    third = context.new_page()
    third.goto(f"{server.base_url}/")
    expect(third.locator(".key-form")).to_be_visible()
    context.close()
    assert errors == []


def test_a_range_just_after_the_data_is_empty_in_every_panel(page: Page, old_data: dict[str, Any]) -> None:
    """Within a day after the last data (the STT counters' lookback), no panel shows rows of zeros, and
    the dashboard says where the latest data is."""
    newest_ns = httpx.get(f"{old_data['url']}/api/v1/data/extent", timeout=30).json()["newest_unix_nano"]
    start, end = (
        datetime.datetime.fromtimestamp(newest_ns / 1e9 + hours * 3600, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for hours in (1, 2)
    )
    speech = httpx.get(f"{old_data['url']}/api/v1/panels/speech_usage?start={start}&end={end}", timeout=30).json()
    assert speech["rows"] == []
    _loaded(page, f"{old_data['url']}/?start={start}&end={end}")
    states = {s.get_attribute("data-state") for s in page.query_selector_all("section.panel[data-panel]")}
    assert states == {"empty"}
    expect(page.locator(".latest-data")).to_contain_text("No data in this time range. The latest data is at")


def test_one_call_is_counted_in_the_singular(page: Page, make_server: ServerFactory) -> None:
    """'1 call', not '1 calls', in the tiles' counts."""
    server = make_server(grpc_port=0)
    generate(DemoConfig(calls=1, days=0.05, seed=4, end_ns=time.time_ns() - 60 * 10**9), server.base_url)
    _loaded(page, f"{server.base_url}/?start=now-1d")
    turns = page.locator("section[data-panel=turns_per_conversation] .tile-sub")
    expect(turns).to_contain_text(" in 1 call")
    expect(turns).not_to_contain_text("1 calls")
    expect(page.locator("section[data-panel=error_rate]")).not_to_contain_text("1 calls")
