"""The onboarding routes: the ports a server really listens on, what it stores (oldest and newest per
signal), which key a request presents; the first two follow the read routes' access rule."""

from __future__ import annotations

import time

import httpx
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.conftest import ServerFactory
from tests.helpers import make_spans

ADMIN = "onboarding-admin-key-0123456789"
PB = {"Content-Type": "application/x-protobuf"}


def test_connect_and_extent_tell_the_ports_and_what_is_stored(make_server: ServerFactory) -> None:
    server = make_server()
    url = server.base_url
    connect = httpx.get(f"{url}/api/v1/connect").json()
    assert connect["host"] == "127.0.0.1"
    assert connect["http_port"] == server.http_port
    assert connect["grpc_port"] == server.grpc_port > 0
    assert connect["keys_required"] is False
    assert httpx.get(f"{url}/api/v1/data/extent").json() == {
        "empty": True,
        "oldest_unix_nano": None,
        "newest_unix_nano": None,
        "signals": {
            s: {"rows": 0, "oldest_unix_nano": None, "newest_unix_nano": None} for s in ("traces", "logs", "metrics")
        },
    }
    before = time.time_ns()
    spans = make_spans()
    assert httpx.post(f"{url}/v1/traces", content=encode_spans(spans).SerializeToString(), headers=PB).is_success
    extent = httpx.get(f"{url}/api/v1/data/extent").json()
    starts = [s.start_time or 0 for s in spans]
    assert extent["empty"] is False
    assert extent["signals"]["traces"] == {
        "rows": len(spans),
        "oldest_unix_nano": min(starts),
        "newest_unix_nano": max(starts),
    }
    assert extent["newest_unix_nano"] == max(starts) >= before - 10**9
    assert extent["signals"]["logs"]["rows"] == 0


def test_the_key_route_names_the_presented_key(make_server: ServerFactory) -> None:
    server = make_server(auth="required", admin_key=ADMIN)
    url = server.base_url
    admin = {"Authorization": f"Bearer {ADMIN}"}
    viewer = httpx.post(f"{url}/api/v1/keys", json={"name": "wall", "role": "viewer"}, headers=admin).json()
    ingest = httpx.post(f"{url}/api/v1/keys", json={"name": "worker", "role": "ingest"}, headers=admin).json()
    assert httpx.get(f"{url}/api/v1/auth/key").json() == {"keys_required": True, "key": None}
    answer = httpx.get(f"{url}/api/v1/auth/key", headers={"x-api-key": viewer["key"]}).json()
    assert answer["key"] == {"id": viewer["id"], "name": "wall", "role": "viewer"}
    # any role is named, even one that may not read the dashboard
    answer = httpx.get(f"{url}/api/v1/auth/key", headers={"Authorization": f"Bearer {ingest['key']}"}).json()
    assert answer["key"]["role"] == "ingest"
    assert httpx.get(f"{url}/api/v1/auth/key", headers=admin).json()["key"]["role"] == "super-admin"
    wrong = httpx.get(f"{url}/api/v1/auth/key", headers={"Authorization": f"Bearer {viewer['key']}x"})
    assert wrong.status_code == 401
    # the read rule: no key 401, an ingest key 403, a viewer key 200
    for path in ("/api/v1/connect", "/api/v1/data/extent"):
        assert httpx.get(f"{url}{path}").status_code == 401
        assert httpx.get(f"{url}{path}", headers={"x-api-key": ingest["key"]}).status_code == 403
        assert httpx.get(f"{url}{path}", headers={"x-api-key": viewer["key"]}).status_code == 200
    assert httpx.get(f"{url}/api/v1/connect", headers={"x-api-key": viewer["key"]}).json()["keys_required"] is True
