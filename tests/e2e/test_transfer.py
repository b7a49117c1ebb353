"""`livekit-dashboard export` / `import` through the real CLI (in process: a subprocess could not open the
chDB directory this process holds): a store filled with demo calls, a LiveKit session upload (posted
usage, chat history, audio), an alert rule with its history, a price and a key reads the same after it
was moved into another database; importing again changes nothing; bad input gets a clear error."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from livekit_dashboard.cli import app
from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.store import Engine, KeyStore, open_engine
from livekit_dashboard.store.transfer import traveling_tables
from tests.api.test_livekit_upload import all_requests, send
from tests.clickhouse_http_shim import ClickHouseHttpShim
from tests.conftest import DatabasePool, ServerFactory, drop_database
from tests.parity import _stable, differences, snapshot, window

NOW = time.time_ns() - 60 * 10**9
ADMIN = "admin-key-for-transfer-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
RANGE = window(1_700_000_000 * 10**9, NOW + 60 * 10**9)  # the LiveKit upload (2025) and the demo calls


# one store's own bookkeeping, which does not travel: the touch queue of calls to settle, the prices the
# records were priced with, how far settling got, the write probe and the migration ledger
BOOKKEEPING = frozenset(
    {"lk_call_touch", "lk_price_state", "lk_settle_state", "livekit_dashboard_health", "livekit_dashboard_migrations"}
)


def cli(chdb_dir: Path, database: str, *args: str) -> Result:
    env = {"LIVEKIT_DASHBOARD_DATABASE": database, "LIVEKIT_DASHBOARD_LOG_LEVEL": "warning"}
    return CliRunner().invoke(app, [*args, "--storage-dsn", f"chdb://{chdb_dir}"], env=env)


def counts(chdb_dir: Path, database: str) -> dict[str, int]:
    """Rows per table, merged as reads see them (FINAL where the engine merges rows)."""
    engine = open_engine(f"chdb://{chdb_dir}", database)
    try:
        tables = engine.query(
            "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
        )
        out = {}
        for row in tables:
            final = "" if row["engine"] == "MergeTree" else "FINAL"
            sql = f"SELECT count() AS n FROM {{t:Identifier}} {final}"
            out[row["name"]] = int(engine.query(sql, {"t": row["name"]})[0]["n"])
        return out
    finally:
        engine.close()


def extras(base_url: str) -> dict[str, Any]:
    """What the parity snapshot does not read: alert rules and history, prices, keys, the recording."""
    out: dict[str, Any] = {}
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=60) as client:
        for path in ("/api/v1/alerts", "/api/v1/alerts/events", "/api/v1/alerts/deliveries", "/api/v1/prices"):
            r = client.get(path, params=RANGE)
            assert r.status_code == 200, (path, r.text)
            out[path] = r.json()
        keys = client.get("/api/v1/keys").json()["keys"]
        out["keys"] = sorted((k["id"], k["role"], k["name"], k["created_at_ms"]) for k in keys)
        audio = client.get("/api/v1/calls/AJ_cloud_upload/audio")
        out["audio"] = (audio.status_code, len(audio.content))
    stable: dict[str, Any] = _stable(out)
    return stable


@pytest.fixture
def recordings(chdb_dir: Path) -> Iterator[list[str]]:
    """Databases whose recordings folder the test fills (removed after: pooled databases are reused)."""
    used: list[str] = []
    yield used
    for database in used:
        shutil.rmtree(chdb_dir / "livekit-dashboard-recordings" / database, ignore_errors=True)


def test_moved_data_reads_the_same_and_a_second_import_changes_nothing(
    make_server: ServerFactory,
    database_pool: DatabasePool,
    chdb_dir: Path,
    tmp_path: Path,
    recordings: list[str],
) -> None:
    source = make_server(admin_key=ADMIN, alert_interval_s=3600)
    recordings.append(source.settings.database)
    generate(DemoConfig(calls=12, days=1, seed=3, end_ns=NOW), source.base_url)
    for request in all_requests():  # a LiveKit worker's session: posted usage, chat history, audio
        assert send(source, request, None).status_code == 200
    rule = {"id": "tokens", "name": "Tokens", "measure": "tokens", "op": ">", "threshold": 0, "window": "1d"}
    assert httpx.post(f"{source.base_url}/api/v1/alerts", json=rule, headers=AUTH, timeout=30).status_code == 201
    price = {"provider": "openai", "model": "gpt-4o-mini", "input_mtok": 0.2, "output_mtok": 0.7}
    assert httpx.put(f"{source.base_url}/api/v1/prices", json=price, headers=AUTH, timeout=60).status_code == 200
    source.ingestor.wait_visible()
    assert source.alerts.evaluate()  # the rule fires: an event in the history
    before = snapshot(source.base_url, RANGE, admin_key=ADMIN)
    before_extras = extras(source.base_url)
    assert "call AJ_cloud_upload" in before
    assert before_extras["audio"][0] == 200

    out = tmp_path / "export"
    exported = cli(chdb_dir, source.settings.database, "export", "--out", str(out))
    assert exported.exit_code == 0, exported.output
    assert "export otel_traces: " in exported.stderr
    assert "MB/s" in exported.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] >= 20
    assert manifest["format"] == "livekit-dashboard-export"
    tables = {t["name"]: t for t in manifest["tables"]}
    assert set(tables) == set(traveling_tables(source.storage))
    source_counts = counts(chdb_dir, source.settings.database)
    for name in ("otel_traces", "otel_logs", "otel_metrics_sum", "lk_alert_rules", "lk_recordings"):
        assert tables[name]["rows"] == source_counts[name] > 0, name
    assert [r["name"] for r in manifest["recordings"]] == sorted(
        p.name for p in source.recordings.root.iterdir() if p.is_file()
    )

    target = database_pool.take()
    recordings.append(target)
    imported = cli(chdb_dir, target, "import", str(out))
    assert imported.exit_code == 0, imported.output
    assert "import otel_traces: " in imported.stderr
    moved = make_server(database=target, admin_key=ADMIN, alert_interval_s=3600)
    moved.call_records.settle()
    changed = differences(before, snapshot(moved.base_url, RANGE, admin_key=ADMIN))
    assert changed == [], "\n".join(changed)
    changed = differences(before_extras, extras(moved.base_url))
    assert changed == [], "\n".join(changed)
    after = counts(chdb_dir, target)
    # every table holds what the source held, the derived ones derived again from the raw rows (not
    # the touch queue of calls to settle, nor the prices the records were priced with: bookkeeping)
    assert {k: v for k, v in after.items() if k not in BOOKKEEPING} == {
        k: v for k, v in source_counts.items() if k not in BOOKKEEPING
    }

    again = cli(chdb_dir, target, "import", str(out))
    assert again.exit_code == 2
    assert "already holds data" in again.stderr
    assert "--append" in again.stderr
    again = cli(chdb_dir, target, "import", str(out), "--append")
    assert again.exit_code == 0, again.output
    moved.call_records.settle()
    # nothing twice (a re-touched call is only settled again, to the same record)
    assert {k: v for k, v in counts(chdb_dir, target).items() if k != "lk_call_touch"} == {
        k: v for k, v in after.items() if k != "lk_call_touch"
    }
    assert differences(before, snapshot(moved.base_url, RANGE, admin_key=ADMIN)) == []


def test_through_a_clickhouse_servers_http_interface(
    make_server: ServerFactory, database_pool: DatabasePool, chdb_dir: Path, tmp_path: Path
) -> None:
    """Export from and import into storage named by an http:// DSN (HttpEngine, against the stand-in
    server of tests/clickhouse_http_shim.py): Arrow over HTTP out, inserts with their tokens in."""
    source = make_server()
    generate(DemoConfig(calls=3, days=0.2, seed=7, end_ns=NOW), source.base_url)
    source.ingestor.wait_visible()
    source.call_records.settle()
    target = database_pool.take()
    out = tmp_path / "export"
    with ClickHouseHttpShim(chdb_dir) as shim:
        env = {"LIVEKIT_DASHBOARD_DATABASE": source.settings.database, "LIVEKIT_DASHBOARD_DATA_DIR": str(tmp_path)}
        result = CliRunner().invoke(app, ["export", "--out", str(out), "--storage-dsn", shim.url()], env=env)
        assert result.exit_code == 0, result.output
        env["LIVEKIT_DASHBOARD_DATABASE"] = target
        result = CliRunner().invoke(app, ["import", str(out), "--storage-dsn", shim.url()], env=env)
        assert result.exit_code == 0, result.output
        assert shim.requests > 20
    source_counts, target_counts = counts(chdb_dir, source.settings.database), counts(chdb_dir, target)
    assert source_counts["otel_traces"] > 0
    assert source_counts["lk_call_records"] == 3
    assert target_counts["lk_call_records"] == 3
    assert {k: v for k, v in target_counts.items() if k not in BOOKKEEPING} == {
        k: v for k, v in source_counts.items() if k not in BOOKKEEPING
    }
    database_pool.give_back(target)


@pytest.mark.slow
def test_an_embedded_store_moves_onto_a_cluster(
    make_server: ServerFactory, chdb_dir: Path, admin_engine: Engine, tmp_path: Path
) -> None:
    """Embedded to a cluster layout (store/cluster.py, on the in-process one-shard test cluster): the
    rows go in through the Distributed tables, the views on the local tables derive the rest, and a
    server on the cluster reads what the embedded one did."""
    source = make_server()
    generate(DemoConfig(calls=8, days=1, seed=13, end_ns=NOW), source.base_url)
    source.ingestor.wait_visible()
    before = snapshot(source.base_url, RANGE)
    out = tmp_path / "export"
    assert cli(chdb_dir, source.settings.database, "export", "--out", str(out)).exit_code == 0

    target = f"t_cluster_{uuid.uuid4().hex[:8]}"
    env = {"LIVEKIT_DASHBOARD_DATABASE": target, "LIVEKIT_DASHBOARD_CLUSTER_KEEPER": "false"}
    on_cluster = ["--storage-dsn", f"chdb://{chdb_dir}", "--cluster", "lkd_one"]
    try:
        for args in (["migrate", *on_cluster], ["import", str(out), *on_cluster]):
            result = CliRunner().invoke(app, args, env=env)
            assert result.exit_code == 0, result.output
        layout = {
            r["name"]: r["engine"]
            for r in admin_engine.query(
                "SELECT name, engine FROM system.tables WHERE database = {d:String}", {"d": target}
            )
        }
        assert (layout["otel_traces"], layout["lk_call_records"]) == ("Distributed", "Distributed")
        moved = make_server(database=target, cluster="lkd_one", cluster_keeper=False)
        moved.call_records.settle()
        changed = differences(before, snapshot(moved.base_url, RANGE))
        assert changed == [], "\n".join(changed)
        moved.stop()
    finally:
        drop_database(admin_engine, target)


def test_raw_and_application_tables_travel_and_derived_ones_do_not(engine: Engine) -> None:
    """Read from the catalogue: a table a view writes is derived again on import, so it stays."""
    assert traveling_tables(engine) == [
        *("otel_logs", "otel_metrics_exponential_histogram", "otel_metrics_gauge", "otel_metrics_histogram"),
        *("otel_metrics_sum", "otel_metrics_summary", "otel_traces"),
        *("livekit_dashboard_api_keys", "lk_alert_deliveries", "lk_alert_events", "lk_alert_rules"),
        *("lk_call_records", "lk_chat_histories", "lk_error_records", "lk_price_overrides", "lk_recordings"),
        "lk_usage_posted",
    ]


@pytest.fixture
def small_export(engine: Engine, chdb_dir: Path, database: str, tmp_path: Path) -> Path:
    """An export of a database holding one key."""
    KeyStore(engine).ensure_bootstrap(ADMIN)
    out = tmp_path / "small"
    result = cli(chdb_dir, database, "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_bad_input_gets_a_clear_error(
    small_export: Path, chdb_dir: Path, database: str, admin_engine: Engine, tmp_path: Path
) -> None:
    def fails(database: str, *args: str) -> str:
        result = cli(chdb_dir, database, *args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("livekit-dashboard: error: "), result.stderr
        return result.stderr

    assert "is not an empty folder" in fails(database, "export", "--out", str(small_export))
    assert "no manifest.json in" in fails(database, "import", str(tmp_path))
    bare = f"t_{uuid.uuid4().hex[:12]}"  # created by opening it, never migrated
    try:
        assert "is not migrated: run `livekit-dashboard migrate`" in fails(bare, "import", str(small_export))
    finally:
        drop_database(admin_engine, bare)
    assert "already holds data (livekit_dashboard_api_keys: 1 rows)" in fails(database, "import", str(small_export))

    manifest_path = small_export / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps({**manifest, "schema_version": 9999}))
    assert "schema version mismatch: the export is at schema 9999" in fails(database, "import", str(small_export))
    manifest_path.write_text(json.dumps(manifest))
    (small_export / "tables" / "livekit_dashboard_api_keys.parquet").unlink()
    message = fails(database, "import", str(small_export))
    assert "are missing: tables/livekit_dashboard_api_keys.parquet" in message
