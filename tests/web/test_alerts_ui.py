"""The alerts page in real headless Chromium: a super-admin creates a rule in the form, sees it fire with
its value, follows the history's link to the calls behind it, test-fires it to a local receiver, mutes
and deletes it."""

from __future__ import annotations

from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.api.test_alerts import Receiver, send, turns_body

ADMIN = "admin-key-for-alerts-ui-0123456789"


def test_a_rule_made_on_the_alerts_page_fires_and_links_to_its_calls(page: Page, make_server: Any) -> None:
    server = make_server(grpc_port=0, admin_key=ADMIN, alert_interval_s=3600)  # rounds run by the test
    receiver = Receiver()
    try:
        page.add_init_script(f"sessionStorage.setItem('lkd.key', '{ADMIN}')")
        page.goto(f"{server.base_url}/alerts")
        page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
        expect(page.locator(".alerts-view .empty")).to_contain_text("No rules yet")
        form = page.locator("#alert-form")
        form.locator("input[name=name]").fill("Failing turns")
        form.locator("select[name=measure]").select_option("error_rate_turns")
        form.locator("input[name=threshold]").fill("0.3")
        form.locator("input[name=window]").fill("10m")
        form.locator("input[name=filter_service]").fill("support-agent")
        form.locator("textarea[name=channels]").fill(f"webhook {receiver.url}/hook")
        form.locator("button[type=submit]").click()
        expect(page.locator("#alert-status")).to_contain_text("Saved rule")
        expect(page.locator("#rule-failing-turns")).to_have_text("Failing turns")
        send(server, turns_body(ok=1, failed=1))
        (fired,) = server.alerts.evaluate()
        assert fired.state == "firing"
        page.reload()
        page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
        row = page.locator(".alerts-view table").first.locator("tbody tr").first
        expect(row.locator(".badge.alert-firing")).to_have_text("firing")
        expect(row).to_contain_text("50.0%")
        history = page.locator(".alerts-view table").nth(1).locator("tbody tr")
        expect(history).to_have_count(1)
        expect(history.first).to_contain_text("is 50.0%")
        # the history's link opens the calls of the window, with failures
        history.first.locator("a", has_text="calls").click()
        page.wait_for_url("**/calls?**has_errors=true**")
        page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
        expect(page.locator(".calls-view table tbody tr")).to_have_count(1)
        # test-fire, mute, delete
        page.goto(f"{server.base_url}/alerts")
        page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
        page.locator(".test-alert").click()
        expect(page.locator("#alert-status")).to_contain_text("Sent a test")
        bodies = receiver.wait(2)  # the firing, then the test
        assert [b[1]["state"] for b in bodies] == ["firing", "test"]
        page.locator(".mute-alert").click()
        expect(page.locator("#alert-status")).to_contain_text("Muted")
        expect(page.locator("#rule-failing-turns .muted-badge")).to_have_text("muted")
        rule = httpx.get(f"{server.base_url}/api/v1/alerts/failing-turns", headers={"Authorization": f"Bearer {ADMIN}"})
        assert rule.json()["muted"] is True
        page.locator(".delete-alert").click()
        expect(page.locator("#alert-status")).to_contain_text("Deleted")
        expect(page.locator(".alerts-view .empty")).to_contain_text("No rules yet")
    finally:
        receiver.close()


def test_without_a_super_admin_key_the_page_says_what_it_needs(page: Page, make_server: Any) -> None:
    server = make_server(grpc_port=0, admin_key=ADMIN)
    # no key: the app asks for one
    page.goto(f"{server.base_url}/alerts")
    expect(page.locator(".key-form")).to_be_visible()
    # a viewer's key: the page says which key it needs
    r = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={"name": "viewer", "role": "viewer"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    viewer = r.json()["key"]
    page.add_init_script(f"sessionStorage.setItem('lkd.key', '{viewer}')")
    page.goto(f"{server.base_url}/alerts")
    expect(page.locator("#alerts-error")).to_contain_text("super-admin key")


def test_the_alerts_page_asks_for_a_super_admin_key_where_the_dashboard_needs_none(
    page: Page, make_server: Any
) -> None:
    server = make_server(grpc_port=0, admin_key=ADMIN)  # loopback: the dashboard needs no key
    page.goto(f"{server.base_url}/alerts")
    form = page.locator(".key-form")
    expect(form.locator("h2")).to_have_text("Alerts need a super-admin key")
    expect(form).to_contain_text("--role super-admin")
    page.fill("#api-key", ADMIN)
    page.click(".key-form button")
    expect(page.locator(".alerts-view .empty")).to_contain_text("No rules yet")
