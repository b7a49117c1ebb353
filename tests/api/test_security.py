"""Security: CSP and friends on every response, no CORS, failed-key rate limiting, keys never logged."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from livekit_dashboard.api.auth import FailedKeyLimiter
from tests.helpers import make_spans

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
    # while blocked, a secret that could be the person-chosen bootstrap key is not even checked:
    # guessing it right does not get through
    assert httpx.get(url, headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 429


def _new_key(server: Any, role: str) -> str:
    r = httpx.post(f"{server.base_url}/api/v1/keys", json={"name": role, "role": role}, headers={"x-api-key": ADMIN})
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def test_wrong_keys_do_not_lock_out_keys_that_work(make_server: Any) -> None:
    """One bad client behind a NAT must not cost its neighbours their telemetry: generated keys (not
    guessable) that work keep working from a blocked address, over HTTP and gRPC."""
    server = make_server(admin_key=ADMIN, auth="required")
    ingest, admin = _new_key(server, "ingest"), _new_key(server, "super-admin")
    url = f"{server.base_url}/admin/analytics/tokens/summary"
    for _ in range(25):
        httpx.get(url, headers={"x-api-key": "lkd_0123456789_wrong-key-guess-wrong-key"})
    assert httpx.get(url, headers={"x-api-key": "lkd_0123456789_wrong-key-guess-wrong-key"}).status_code == 429
    assert httpx.get(url, headers={"x-api-key": admin}).status_code == 200
    body = encode_spans(make_spans()).SerializeToString()
    headers = {"Content-Type": "application/x-protobuf", "Authorization": f"Bearer {ingest}"}
    assert httpx.post(f"{server.base_url}/v1/traces", content=body, headers=headers).status_code == 200
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    stub.Export(encode_spans(make_spans()), metadata=(("authorization", f"Bearer {ingest}"),), timeout=10)
    channel.close()


def test_grpc_wrong_keys_are_limited_like_http(make_server: Any) -> None:
    """gRPC used to answer every wrong key at full speed: an oracle for the bootstrap key."""
    server = make_server(admin_key=ADMIN, auth="required", failed_keys_per_minute=5)
    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    request = encode_spans(make_spans())
    codes = []
    for i in range(8):
        try:
            stub.Export(request, metadata=(("authorization", f"Bearer guess-{i:04d}-of-the-admin-key"),), timeout=10)
        except grpc.RpcError as exc:
            codes.append(exc.code())
    assert codes[:5] == [grpc.StatusCode.UNAUTHENTICATED] * 5
    assert codes[5:] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3
    with pytest.raises(grpc.RpcError) as err:  # the right bootstrap key is not even checked now
        stub.Export(request, metadata=(("authorization", f"Bearer {ADMIN}"),), timeout=10)
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    # HTTP shares the count (same address)
    r = httpx.get(f"{server.base_url}/admin/analytics/tokens/summary", headers={"x-api-key": ADMIN})
    assert r.status_code == 429
    channel.close()


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_server: Any) -> None:
    url_of = lambda server: f"{server.base_url}/admin/analytics/tokens/summary"  # noqa: E731
    spoofing = make_server(admin_key=ADMIN, failed_keys_per_minute=5)
    statuses = [
        httpx.get(
            url_of(spoofing), headers={"x-api-key": "wrong-guess-key-x", "X-Forwarded-For": f"10.0.0.{i}"}
        ).status_code
        for i in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2, "a rotating X-Forwarded-For must not reset the count"
    behind_proxy = make_server(admin_key=ADMIN, failed_keys_per_minute=5, trusted_proxies="127.0.0.1")
    statuses = [
        httpx.get(
            url_of(behind_proxy), headers={"x-api-key": "wrong-guess-key-x", "X-Forwarded-For": f"10.0.0.{i}"}
        ).status_code
        for i in range(7)
    ]
    assert statuses == [401] * 7, "behind a trusted proxy each forwarded client has its own count"


def test_the_failed_key_table_is_bounded() -> None:
    now = [0.0]
    limiter = FailedKeyLimiter(limit=3, window_s=60, max_clients=100, clock=lambda: now[0])
    for i in range(40_000):
        limiter.record_failure(f"198.51.{i // 256}.{i % 256}")
    assert len(limiter) == 100
    for _ in range(3):
        limiter.record_failure("203.0.113.9")
    assert limiter.blocked_for_s("203.0.113.9") == 60  # the newest stays tracked


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
