"""The cluster layout (store/cluster.py), proven as far as one process can.

1. Every schema statement, rendered for a replicated cluster, is parsed by the real engine and has the
   shape a cluster needs (ON CLUSTER, Replicated local tables, a Distributed table over each, views on
   the local tables).
2. The same layout without Keeper (plain local tables, no ON CLUSTER) runs on a one-shard cluster of
   chDB itself (tests/fixtures/chdb_clusters.xml): a server on it, fed the demo, reads exactly what a
   server on one node reads, everywhere (tests/parity.py).
3. On a two-shard cluster (both shards this process) every read runs: a query a cluster refuses (a
   subquery over a Distributed table inside another, without GLOBAL) fails here.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.query.sqlfiles import load_sql
from livekit_dashboard.server import DashboardServer
from livekit_dashboard.store import Engine, StorageError
from livekit_dashboard.store.cluster import SHARD_KEYS, Cluster
from livekit_dashboard.store.durability import fsync_statement
from livekit_dashboard.store.migrate import _LEDGER_DDL, Slots, list_migrations, render_ddl
from livekit_dashboard.store.retention import retained_tables, rollup_horizon_statement, ttl_statement
from tests.conftest import ServerFactory, drop_database, start_server
from tests.parity import differences, snapshot, window

REPLICATED = Cluster("prod", "otel")
ADMIN = "admin-key-for-cluster-tests-0123456789"
NOW = time.time_ns() - 60 * 10**9


def _rendered(cluster: Cluster) -> list[str]:
    slots = Slots(cluster=cluster)
    ledger = render_ddl(_LEDGER_DDL, slots)
    return (
        cluster.bootstrap() + ledger + [statement for m in list_migrations() for statement in render_ddl(m.sql, slots)]
    )


def test_every_statement_parses_and_has_the_cluster_shape(admin_engine: Engine) -> None:
    statements = _rendered(REPLICATED)
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `otel` ON CLUSTER `prod`"
    for statement in statements:
        formatted = admin_engine.query("SELECT formatQuery({q:String}) AS f", {"q": statement})[0]["f"]
        assert formatted, statement
        if not statement.startswith("INSERT INTO"):
            assert "ON CLUSTER `prod`" in statement, f"DDL runs on one node only: {statement[:120]}"

    creates = {m.group(1): s for s in statements if (m := re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", s))}
    locals_ = {name for name in creates if name.endswith("_local")}
    assert locals_
    assert {name.removesuffix("_local") for name in locals_} == set(creates) - locals_
    for name in locals_:
        assert re.search(
            r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{uuid\}/\{shard\}', '\{replica\}'", creates[name]
        ), creates[name]
        plain = name.removesuffix("_local")
        assert f"ENGINE = Distributed('prod', 'otel', '{name}', {SHARD_KEYS[plain]})" in creates[plain]
    # a call stays on one shard: its raw rows and the rows derived from them are sharded by trace id
    for table in ("otel_traces", "otel_logs", "lk_requests", "lk_turns", "lk_calls", "lk_call_usage"):
        assert SHARD_KEYS[table] == "cityHash64(TraceId)"

    views = [s for s in statements if s.startswith("CREATE MATERIALIZED VIEW")]
    assert len(views) > 20
    for view in views:
        target, source = re.search(r"TO (\w+) AS .*?\bFROM (\w+)", view, re.S).groups()  # type: ignore[union-attr]
        assert target.endswith("_local"), view[:160]
        assert source.endswith("_local"), view[:160]


def test_the_statements_serve_runs_at_start_parse_in_their_cluster_form(admin_engine: Engine) -> None:
    """Retention, part fsyncs and the compaction of call and error records act on every node's local tables."""
    statements = [
        *(
            ttl_statement(table, column, days, REPLICATED)
            for table, (_, column) in retained_tables().items()
            for days in (0, 30)
        ),
        *(fsync_statement(table, fsync, REPLICATED) for table in retained_tables() for fsync in (True, False)),
        *REPLICATED.render(load_sql("call_records_compact")),
        *REPLICATED.render(load_sql("error_records_compact")),
    ]
    for statement in statements:
        assert admin_engine.query("SELECT formatQuery({q:String}) AS f", {"q": statement})[0]["f"]
        assert re.match(r"(ALTER|OPTIMIZE) TABLE `?\w+_local`? ON CLUSTER `prod` ", statement), statement
    # where the rollups are whole: a function, defined on every node
    for days in (0, 30):
        statement = rollup_horizon_statement(days, REPLICATED)
        assert admin_engine.query("SELECT formatQuery({q:String}) AS f", {"q": statement})[0]["f"]
        assert statement.startswith("CREATE OR REPLACE FUNCTION lkd_rollup_from ON CLUSTER `prod` "), statement


def test_statements_it_cannot_place_are_refused() -> None:
    with pytest.raises(StorageError, match="no shard key"):
        REPLICATED.render(
            "CREATE TABLE IF NOT EXISTS mystery ON CLUSTER `prod` (a UInt8) ENGINE = MergeTree ORDER BY a"
        )
    with pytest.raises(StorageError, match="must read one table"):
        REPLICATED.render("CREATE MATERIALIZED VIEW IF NOT EXISTS v TO lk_turns AS SELECT * FROM a JOIN b USING (x)")
    with pytest.raises(StorageError, match="no cluster rendering"):
        REPLICATED.render("RENAME TABLE a TO b")
    with pytest.raises(StorageError, match="invalid cluster"):
        Cluster("prod; DROP", "otel")
    # columns reach the Distributed table too (without codecs, which it does not take); settings do not
    alter = REPLICATED.render(
        "ALTER TABLE lk_turns ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS A Nullable(Float64) CODEC(ZSTD(1)), "
        "MODIFY ORDER BY (Hour, S)"
    )
    assert alter == [
        "ALTER TABLE lk_turns_local ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS A Nullable(Float64) CODEC(ZSTD(1)), "
        "MODIFY ORDER BY (Hour, S)",
        "ALTER TABLE lk_turns ON CLUSTER `prod` ADD COLUMN IF NOT EXISTS A Nullable(Float64)",
    ]


def _demo(server_url: str) -> None:
    generate(DemoConfig(calls=14, days=1, seed=21, end_ns=NOW), server_url)


@pytest.fixture
def on_cluster(chdb_dir: Path, admin_engine: Engine) -> Iterator[Callable[[str], DashboardServer]]:
    """Servers on a test cluster, each on a database of its own, dropped after (never pooled: their
    tables are laid out for the cluster)."""
    started: list[DashboardServer] = []

    def start(cluster: str) -> DashboardServer:
        database = f"t_{cluster}_{uuid.uuid4().hex[:8]}"
        server = start_server(chdb_dir, database=database, cluster=cluster, cluster_keeper=False, admin_key=ADMIN)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
        drop_database(admin_engine, server.settings.database)


@pytest.mark.slow
def test_a_server_on_a_one_shard_cluster_reads_what_one_node_reads(
    make_server: ServerFactory, on_cluster: Callable[[str], DashboardServer]
) -> None:
    single = make_server(admin_key=ADMIN)
    clustered = on_cluster("lkd_one")
    for server in (single, clustered):
        _demo(server.base_url)
        server.ingestor.wait_visible()
    tables = {
        r["name"]: r["engine"]
        for r in clustered.engine.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()")
    }
    assert (tables["otel_traces"], tables["otel_traces_local"]) == ("Distributed", "MergeTree")
    assert (tables["lk_call_records"], tables["lk_call_records_local"]) == ("Distributed", "ReplacingMergeTree")
    stored = clustered.engine.query("SELECT count() AS n FROM otel_traces_local")[0]["n"]
    assert stored == single.engine.query("SELECT count() AS n FROM otel_traces")[0]["n"] > 0

    range_ = window(NOW - 2 * 86400 * 10**9, NOW + 60 * 10**9)
    ours = snapshot(single.base_url, range_, admin_key=ADMIN)
    theirs = snapshot(clustered.base_url, range_, admin_key=ADMIN)
    assert "admin /calls/summary" in ours
    assert len([key for key in ours if key.startswith("call ")]) == 14
    changed = differences(ours, theirs)
    assert changed == [], "\n".join(changed)

    # a price change re-prices the settled calls and compacts the records (OPTIMIZE on the local tables)
    price = {"provider": "openai", "model": "gpt-4o-mini", "input_mtok": 0.2, "output_mtok": 0.7}
    for server in (single, clustered):
        r = httpx.put(
            f"{server.base_url}/api/v1/prices", json=price, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
        )
        assert r.status_code == 200, r.text
        assert r.json()["repriced_models"]
    repriced = snapshot(clustered.base_url, range_, admin_key=ADMIN)
    assert repriced["calls by cost_usd"] != theirs["calls by cost_usd"]
    changed = differences(snapshot(single.base_url, range_, admin_key=ADMIN), repriced)
    assert changed == [], "\n".join(changed)


@pytest.mark.slow
def test_every_read_runs_on_two_shards(on_cluster: Callable[[str], DashboardServer]) -> None:
    server = on_cluster("lkd_two")
    # both shards write the same local tables, so the two halves of one insert carry the same
    # deduplication token into one table and the second half would be dropped as a repeat (on a real
    # cluster each shard has its own tables): this test's tables keep no deduplication window
    for row in server.engine.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree'"
    ):
        server.engine.command(f"ALTER TABLE `{row['name']}` MODIFY SETTING non_replicated_deduplication_window = 0")
    _demo(server.base_url)
    server.ingestor.wait_visible()
    # both shards are this process over the same local tables: each row is read twice, so the
    # numbers are not compared, only that every read is accepted and answered
    answers = snapshot(server.base_url, window(NOW - 2 * 86400 * 10**9, NOW + 60 * 10**9), admin_key=ADMIN, calls=3)
    assert answers["calls by started_at"]["calls"]
