"""`serve --no-ingest` (ingest_enabled=False): a replica that serves the UI and API over storage others
fill. It refuses every way in for data with a 503 in each route's error format, listens on no gRPC port,
keeps no write-ahead log, and still settles the calls other writers store."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.store import Engine, open_engine
from tests.conftest import DatabasePool, ServerFactory, start_server
from tests.helpers import make_spans

NOW = time.time_ns() - 60 * 10**9
RANGE = {"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
DISABLED = "ingest is disabled on this server (--no-ingest)"


def _records(engine: Engine) -> int:
    return int(engine.query("SELECT count() AS n FROM lk_call_records FINAL")[0]["n"])


def test_a_server_without_ingest_refuses_data_and_settles_what_others_store(
    make_server: ServerFactory, database_pool: DatabasePool, chdb_dir: Path
) -> None:
    database = database_pool.take()
    writer = start_server(chdb_dir, database=database)  # another process filling the same storage
    try:
        assert httpx.get(f"{writer.base_url}/healthz").json() == {"status": "ok", "ingest": "enabled"}
        generate(DemoConfig(calls=4, days=0.2, seed=5, end_ns=NOW), writer.base_url)
        writer.ingestor.wait_visible()
    finally:
        writer.stop()
    engine = open_engine(f"chdb://{chdb_dir}", database)
    try:
        # the calls are not settled yet (as when the Collector writes the rows): the replica must do it
        engine.command("TRUNCATE TABLE lk_call_records SYNC")
        spans = int(engine.query("SELECT count() AS n FROM otel_traces")[0]["n"])
        wal = chdb_dir / "livekit-dashboard-wal" / database
        for entry in sorted(wal.rglob("*"), reverse=True):
            entry.rmdir() if entry.is_dir() else entry.unlink()
        wal.rmdir()

        reader = make_server(database=database, ingest_enabled=False)
        assert httpx.get(f"{reader.base_url}/healthz").json() == {"status": "ok", "ingest": "disabled"}
        assert not wal.exists()
        deadline = time.monotonic() + 20
        while _records(engine) < 4 and time.monotonic() < deadline:  # the settle loop, no read asked
            time.sleep(0.2)
        assert _records(engine) == 4
        calls = httpx.get(f"{reader.base_url}/api/v1/calls", params=RANGE, timeout=30).json()["calls"]
        assert len(calls) == 4

        body = encode_spans(make_spans()).SerializeToString()
        for path in ("/v1/traces", "/observability/traces/otlp/v0"):
            r = httpx.post(f"{reader.base_url}{path}", content=body, headers={"Content-Type": "application/x-protobuf"})
            assert r.status_code == 503, (path, r.text)
            assert r.headers["Retry-After"] == "60"
            assert r.headers["Content-Type"] == "application/x-protobuf"
            status = status_pb2.Status.FromString(r.content)
            assert (status.code, status.message.startswith(DISABLED)) == (14, True)  # UNAVAILABLE
        r = httpx.post(f"{reader.base_url}/v1/logs", content=b"{}", headers={"Content-Type": "application/json"})
        assert (r.status_code, r.json()["code"], r.json()["message"].startswith(DISABLED)) == (503, 14, True)
        r = httpx.post(f"{reader.base_url}/v1/usage", json={"call_id": "AJ_x", "usage": {}})
        assert (r.status_code, r.json()["message"].startswith(DISABLED)) == (503, True)
        r = httpx.post(f"{reader.base_url}/observability/recordings/v0", files={"header": b"x", "audio": b"y"})
        assert (r.status_code, r.json()["detail"].startswith(DISABLED)) == (503, True)

        assert reader.grpc_port == 0  # no gRPC server: nothing listens on the configured port
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", reader.settings.grpc_port)) != 0
        assert int(engine.query("SELECT count() AS n FROM otel_traces")[0]["n"]) == spans
        assert not (chdb_dir / "livekit-dashboard-recordings" / database).exists()
        assert not wal.exists()
    finally:
        engine.close()


def test_a_price_set_on_one_replica_reaches_the_others(make_server: ServerFactory, database_pool: DatabasePool) -> None:
    """Replicas of one storage: a price set through one is read by the others within a settle round,
    so the calls they settle from then on are priced with it (the one that took it re-priced history)."""
    admin = "admin-key-for-price-replica-tests-0123456789"
    auth = {"Authorization": f"Bearer {admin}"}
    database = database_pool.take()
    writer = make_server(database=database, admin_key=admin)
    replica = make_server(database=database, admin_key=admin, ingest_enabled=False)

    def replica_prices() -> list[tuple[str, str]]:
        body = httpx.get(f"{replica.base_url}/api/v1/prices", headers=auth, timeout=30).json()
        return [(o["provider"], o["model"]) for o in body["overrides"] if o["source"] == "api"]

    assert replica_prices() == []  # read once: the replica holds the stored prices now
    price = {"provider": "openai", "model": "gpt-4o-mini", "input_mtok": 0.2, "output_mtok": 0.7}
    assert httpx.put(f"{writer.base_url}/api/v1/prices", json=price, headers=auth, timeout=60).status_code == 200
    deadline = time.monotonic() + 15  # the replica's settle loop (every 2 s), no restart
    while replica_prices() == [] and time.monotonic() < deadline:
        time.sleep(0.3)
    assert replica_prices() == [("openai", "gpt-4o-mini")]
    assert replica.call_records.prices.refresh_if_changed() is False  # nothing new since
