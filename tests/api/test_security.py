"""Security: CSP and friends on every response, no CORS, failed-key rate limiting, keys never logged."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from livekit_dashboard.api.auth import FailedKeyLimiter

ADMIN = "security-admin-key-0123456789"


def test_security_headers_on_ui_and_api(make_server: Any) -> None:
    server = make_server()
    for path in ("/", "/traces/" + "ab" * 16, "/static/app.js", "/api/v1/panels", "/healthz", "/no/such/route"):
        r = httpx.get(f"{server.base_url}{path}")
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["Referrer-Policy"] == "no-referrer", path
        csp = {
            part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1]
            for part in r.headers["Content-Security-Policy"].split(";")
        }
        # no inline or remote script; nothing may frame the UI; no plugins; nothing elsewhere to send to
        assert csp["script-src"] == "'self'", path
        assert csp["default-src"] == "'self'", path
        assert csp["frame-ancestors"] == "'none'", path
        assert csp["object-src"] == "'none'", path
        assert csp["connect-src"] == "'self'", path
        assert csp["base-uri"] == "'none'", path


def test_cors_is_closed(make_server: Any) -> None:
    server = make_server()
    origin = {"Origin": "https://evil.example"}
    preflight = httpx.options(
        f"{server.base_url}/api/v1/panels",
        headers={**origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    plain = httpx.get(f"{server.base_url}/api/v1/panels", headers=origin)
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers


def test_failed_keys_are_rate_limited_per_address(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN)
    url = f"{server.base_url}/admin/analytics/tokens/summary"
    for _ in range(20):
        assert httpx.get(url, headers={"x-api-key": "wrong-key-guess"}).status_code == 401
    blocked = httpx.get(url, headers={"x-api-key": "wrong-key-guess"})
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert blocked.json()["success"] is False
    # while blocked, no key is checked at all: guessing right does not get through
    assert httpx.get(url, headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 429


def test_limiter_window_expires() -> None:
    now = [1000.0]
    limiter = FailedKeyLimiter(limit=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.blocked_for_s("1.2.3.4") == 0
        limiter.record_failure("1.2.3.4")
    assert limiter.blocked_for_s("1.2.3.4") == 60
    assert limiter.blocked_for_s("5.6.7.8") == 0
    now[0] += 30
    assert limiter.blocked_for_s("1.2.3.4") == 30
    now[0] += 31
    assert limiter.blocked_for_s("1.2.3.4") == 0


def test_keys_are_never_logged(make_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server(admin_key=ADMIN, log_level="debug")
    created = httpx.post(
        f"{server.base_url}/api/v1/keys",
        json={"name": "n", "role": "viewer"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()
    httpx.get(f"{server.base_url}/admin/analytics/tokens/summary", headers={"x-api-key": created["key"]})
    httpx.get(f"{server.base_url}/admin/analytics/tokens/summary", headers={"x-api-key": "guess-" + ADMIN})
    server.keys.flush_usage()
    assert caplog.records, "debug logging was on: something must have been logged"
    assert ADMIN not in caplog.text
    assert created["key"] not in caplog.text
    assert created["key"].split("_", 2)[2] not in caplog.text
