"""/docs (Swagger UI) and /redoc (ReDoc) in real headless Chromium: they render the API's operations
from files the server ships, under its Content-Security-Policy (no console error, CSP or other), and
no request leaves the server (anything else is recorded and aborted, as on an air-gapped machine)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from livekit_dashboard.server import DashboardServer
from tests.conftest import DatabasePool, serving


@pytest.fixture(scope="module")
def url(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[str]:
    server: DashboardServer
    with serving(chdb_dir, database_pool, grpc_port=0) as server:
        yield server.base_url


class Watched:
    """What a page did besides rendering: console errors and requests to anywhere but the server."""

    def __init__(self, page: Page, url: str) -> None:
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.requested: list[str] = []
        page.on("console", self._console)
        # every request passes here first: the server's own go on, anything else is aborted
        page.route("**/*", lambda route: self._route(route, url))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def _route(self, route: Route, url: str) -> None:
        target = route.request.url
        self.requested.append(target)
        if target.startswith(f"{url}/"):
            route.continue_()
        else:
            self.outside.append(target)
            route.abort()


def test_swagger_ui_renders_the_operations(page: Page, url: str) -> None:
    watched = Watched(page, url)
    page.goto(f"{url}/docs")
    calls = page.locator(".opblock.opblock-get").filter(
        has=page.locator(".opblock-summary-path[data-path='/api/v1/calls']")
    )
    expect(calls).to_be_visible(timeout=30_000)
    assert page.locator(".opblock").count() > 20  # every route, not just one
    # an operation opens and shows its parameters
    calls.locator(".opblock-summary").click()
    expect(calls.locator(".parameters-container")).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("livekit-dashboard")
    assert watched.errors == [], watched.errors
    assert watched.outside == [], watched.outside
    assert f"{url}/openapi.json" in watched.requested
    assert any("/docs/assets/vendor/swagger-ui-dist-" in r for r in watched.requested)


def test_redoc_renders_the_operations_and_searches(page: Page, url: str) -> None:
    watched = Watched(page, url)
    page.goto(f"{url}/redoc")
    expect(page.locator("h1")).to_contain_text("livekit-dashboard", timeout=30_000)
    # the sidebar lists the operations; an operation's section has its method and path
    expect(page.locator("[role='menuitem']").first).to_be_visible()
    assert page.locator("[role='menuitem']").count() > 20
    calls = page.locator("[data-section-id^='tag/Calls/operation/']").first
    calls.scroll_into_view_if_needed()
    expect(calls.locator("h2")).to_be_visible()
    # search runs in ReDoc's worker (blob:), which /redoc's policy allows
    page.get_by_placeholder("Search...").fill("recording")
    results = page.get_by_role("search").get_by_role("menuitem")
    expect(results.filter(has_text="A call's recording").first).to_be_visible(timeout=10_000)
    assert results.count() < page.locator("[role='menuitem']").count()  # a search result list, not the menu
    assert watched.errors == [], watched.errors
    assert watched.outside == [], watched.outside
    assert f"{url}/openapi.json" in watched.requested
