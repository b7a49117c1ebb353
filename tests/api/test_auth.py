"""API keys and roles: every admin and key route answers 401/403 without the right key, keys are stored
only as hashes, revocation is immediate, and a server not bound to loopback requires keys."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from livekit_dashboard.server import DashboardServer
from tests.helpers import make_spans

ADMIN = "bootstrap-admin-key-0123456789"
PB = {"Content-Type": "application/x-protobuf"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_key(server: DashboardServer, role: str, name: str = "test") -> dict[str, Any]:
    r = httpx.post(f"{server.base_url}/api/v1/keys", json={"name": name, "role": role}, headers=bearer(ADMIN))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _protected_routes(server: DashboardServer) -> list[tuple[str, str]]:
    """Every documented route under /admin and /api/v1/keys, from the app's OpenAPI schema."""
    routes = []
    for path, operations in server.app.openapi()["paths"].items():
        if path.startswith("/admin") or path.startswith("/api/v1/keys"):
            for method in operations:
                routes.append((method.upper(), path.replace("{key_id}", "nosuchkey")))
    return sorted(routes)


def test_every_admin_and_key_route_needs_a_super_admin_key(make_server: Any) -> None:
    # on loopback, where the dashboard itself is open; this test sends many wrong keys on purpose
    server = make_server(admin_key=ADMIN, failed_keys_per_minute=1000)
    routes = _protected_routes(server)
    assert len(routes) >= 9  # 6 admin analytics + list/create/revoke keys
    viewer = create_key(server, "viewer")["key"]
    ingest = create_key(server, "ingest")["key"]
    revoked = create_key(server, "super-admin")
    httpx.delete(f"{server.base_url}/api/v1/keys/{revoked['id']}", headers=bearer(ADMIN)).raise_for_status()
    body = {"name": "x", "role": "viewer"}
    for method, path in routes:
        url = f"{server.base_url}{path}"
        for headers, status in (
            ({}, 401),
            (bearer("lkd_0123456789_not-a-real-key-at-all-xx"), 401),
            (bearer(revoked["key"]), 401),
            ({"x-api-key": "wrong"}, 401),
            (bearer(viewer), 403),
            ({"x-api-key": ingest}, 403),
        ):
            r = httpx.request(method, url, headers=headers, json=body if method == "POST" else None)
            assert r.status_code == status, (method, path, headers, r.text)
            if path.startswith("/admin"):
                assert r.json()["success"] is False
        ok = httpx.request(method, url, headers=bearer(ADMIN), json=body if method == "POST" else None)
        assert ok.status_code in (200, 201, 404), (method, path, ok.text)  # 404: revoking an unknown key


def test_keys_are_shown_once_and_stored_only_as_hashes(make_server: Any, chdb_dir: Path) -> None:
    server = make_server(admin_key=ADMIN)
    created = create_key(server, "viewer", "dashboards")
    plaintext = created["key"]
    assert plaintext.startswith(f"lkd_{created['id']}_")
    listed = httpx.get(f"{server.base_url}/api/v1/keys", headers=bearer(ADMIN)).json()["keys"]
    assert {k["id"] for k in listed} >= {created["id"], "bootstrap"}
    assert plaintext not in str(listed)
    assert all("hash" not in k and "key" not in k for k in listed)
    secret = plaintext.split("_", 2)[2]
    tables = server.engine.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
    )
    assert "livekit_dashboard_api_keys" in {t["name"] for t in tables}
    for table in tables:  # no column of any row, in any table, holds the key
        hits = server.engine.query(
            f"SELECT count() AS n FROM `{table['name']}` WHERE position(formatRow('TSV', *), {{s:String}}) > 0",
            {"s": secret},
        )
        assert hits == [{"n": 0}], table
    stored = server.engine.query(
        "SELECT SecretHash FROM livekit_dashboard_api_keys FINAL WHERE KeyId = {i:String}", {"i": created["id"]}
    )
    assert stored == [{"SecretHash": hashlib.sha256(plaintext.encode()).hexdigest()}]
    server.engine.command("OPTIMIZE TABLE livekit_dashboard_api_keys FINAL")
    for path in chdb_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data, f"plaintext key found in {path}"
            assert ADMIN.encode() not in data, f"bootstrap key found in {path}"


def test_revocation_takes_effect_immediately(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN, host="127.0.0.1", auth="required")
    key = create_key(server, "viewer")
    url = f"{server.base_url}/api/v1/panels/error_rate"
    assert httpx.get(url, headers=bearer(key["key"])).status_code == 200
    revoked = httpx.delete(f"{server.base_url}/api/v1/keys/{key['id']}", headers=bearer(ADMIN)).json()
    assert revoked["revoked"] is True
    assert httpx.get(url, headers=bearer(key["key"])).status_code == 401


def test_required_keys_guard_dashboard_and_ingest_by_role(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN, auth="required")
    viewer = create_key(server, "viewer")["key"]
    ingest = create_key(server, "ingest")["key"]
    base = server.base_url
    assert httpx.get(f"{base}/api/v1/auth").json() == {"keys_required": True}
    assert httpx.get(f"{base}/healthz").status_code == 200  # health stays open
    assert httpx.get(f"{base}/").status_code == 200  # the UI loads and asks for a key
    for path in ("/api/v1/panels", "/api/v1/panels/logs", "/api/v1/logs", "/api/v1/ingest/stats", "/api/v1/filters"):
        assert httpx.get(f"{base}{path}").status_code == 401, path
        assert httpx.get(f"{base}{path}", headers=bearer(ingest)).status_code == 403, path
        assert httpx.get(f"{base}{path}", headers=bearer(viewer)).status_code == 200, path
    body = encode_spans(make_spans()).SerializeToString()
    assert httpx.post(f"{base}/v1/traces", content=body, headers=PB).status_code == 401
    assert httpx.post(f"{base}/v1/traces", content=body, headers={**PB, **bearer(viewer)}).status_code == 403
    assert httpx.post(f"{base}/v1/traces", content=body, headers={**PB, "x-api-key": ingest}).status_code == 200
    usage = {"call_id": "c", "started_at": "2026-01-01T00:00:00Z"}
    assert httpx.post(f"{base}/v1/usage", json=usage).status_code == 401
    assert httpx.post(f"{base}/v1/usage", json=usage, headers=bearer(ingest)).status_code == 200

    channel = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    request = encode_spans(make_spans())
    for metadata, code in (
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("x-api-key", viewer),), grpc.StatusCode.PERMISSION_DENIED),
    ):
        with pytest.raises(grpc.RpcError) as err:
            stub.Export(request, metadata=metadata, timeout=10)
        assert err.value.code() is code
    stub.Export(request, metadata=(("authorization", f"Bearer {ingest}"),), timeout=10)
    channel.close()


def test_binding_beyond_loopback_requires_keys_unless_disabled(make_server: Any) -> None:
    from livekit_dashboard.config import Settings

    assert Settings(host="0.0.0.0").auth_required()
    assert not Settings(host="127.0.0.1").auth_required()
    assert not Settings(host="0.0.0.0", auth="disabled").auth_required()
    assert Settings(host="127.0.0.1", auth="required").auth_required()
    open_server = make_server(auth="disabled")
    assert httpx.get(f"{open_server.base_url}/api/v1/panels").status_code == 200
    # admin routes need a key even when everything else is open
    assert httpx.get(f"{open_server.base_url}/admin/analytics/tokens/summary").status_code == 401


def test_key_creation_validates(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN)
    r = httpx.post(f"{server.base_url}/api/v1/keys", json={"name": "x", "role": "god"}, headers=bearer(ADMIN))
    assert r.status_code == 400
    assert "role must be one of" in r.json()["detail"]
    r = httpx.post(f"{server.base_url}/api/v1/keys", json={"role": "viewer"}, headers=bearer(ADMIN))
    assert r.status_code == 400
    assert "name" in r.json()["detail"]


def test_last_use_is_recorded(make_server: Any) -> None:
    server = make_server(admin_key=ADMIN)
    key = create_key(server, "viewer")
    assert httpx.get(f"{server.base_url}/admin/analytics/tokens/summary", headers=bearer(ADMIN)).status_code == 200
    server.keys.flush_usage()
    server.keys.reload()
    records = {k.key_id: k for k in server.keys.list()}
    assert records["bootstrap"].last_used_at_ms is not None
    assert records[key["id"]].last_used_at_ms is None
