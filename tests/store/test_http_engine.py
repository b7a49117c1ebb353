"""HttpEngine, the ClickHouse-server storage path, runs live: against a stand-in server
(tests/clickhouse_http_shim.py: ClickHouse's HTTP interface as clickhouse-connect uses it, over chDB)
and, when LIVEKIT_DASHBOARD_TEST_CLICKHOUSE_URL names one, a real ClickHouse server. A dashboard on
HTTP storage reads exactly as one on embedded chDB fed the same calls: migrations, ingest inserts with
their deduplication tokens, settling, every panel, call pages and traces go through HttpEngine."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.store import Engine, StorageError, open_engine
from tests.clickhouse_http_shim import ClickHouseHttpShim
from tests.conftest import REAL_CLICKHOUSE_ENV, ServerFactory, drop_database, free_port, start_server
from tests.parity import differences, snapshot, window

NOW = time.time_ns() - 60 * 10**9


@pytest.fixture(scope="module")
def shim(chdb_dir: Path) -> Iterator[ClickHouseHttpShim]:
    with ClickHouseHttpShim(chdb_dir) as server:
        yield server


@pytest.fixture
def http_database(chdb_dir: Path, admin_engine: Engine) -> Iterator[str]:
    """A database name of this test's own on the stand-in (created by HttpEngine), dropped after."""
    name = f"t_http_{uuid.uuid4().hex[:12]}"
    yield name
    drop_database(admin_engine, name)


@pytest.fixture
def http_engine(shim: ClickHouseHttpShim, http_database: str) -> Iterator[Engine]:
    engine = open_engine(shim.url(), http_database)
    yield engine
    engine.close()


def test_http_storage_reads_as_embedded(
    clickhouse_endpoint: str,
    shim: ClickHouseHttpShim,
    chdb_dir: Path,
    admin_engine: Engine,
    make_server: ServerFactory,
    tmp_path: Path,
) -> None:
    url = shim.url() if clickhouse_endpoint == "shim" else os.environ[REAL_CLICKHOUSE_ENV]
    database = f"t_http_{uuid.uuid4().hex[:12]}"
    requests_before = shim.requests
    http = start_server(chdb_dir, storage_dsn=url, database=database, data_dir=tmp_path)
    try:
        embedded = make_server()
        assert http.storage.description.endswith(f"(database {database})")
        config = DemoConfig(calls=8, days=1, seed=5, end_ns=NOW)
        for server in (http, embedded):
            generate(config, server.base_url)
            server.ingestor.wait_visible()
        range_ = window(NOW - 2 * 86400 * 10**9, NOW + 60 * 10**9)
        over_http, on_chdb = snapshot(http.base_url, range_), snapshot(embedded.base_url, range_)
    finally:
        http.stop()
        with contextlib.closing(open_engine(url, "default")) as cleanup:
            cleanup.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
    assert len([key for key in on_chdb if key.startswith("call ")]) == 8
    assert on_chdb["calls by started_at"]["calls"], "the comparison is over no calls"
    assert differences(over_http, on_chdb) == []
    if clickhouse_endpoint == "shim":  # the stand-in served it (not a chDB engine by mistake)
        assert shim.requests - requests_before > 100


def test_bound_parameters_round_trip_as_on_chdb(http_engine: Engine, admin_engine: Engine) -> None:
    odd = "it's a \\back\\slash, a\ttab, a\nnewline, a\rreturn and `ticks`"
    params: dict[str, Any] = {
        "s": odd,
        "arr": [odd, "", "plain"],
        "m": {odd: 1.5, "out": 2.0},
        "i": -(2**40),
        "u": 4_000_000_000,
        "t": "2026-01-02 03:04:05.123456789",
        # a parameter this long goes in a multipart form instead of the URL
        "long": ["x" * 100] * 60,
    }
    sql = (
        "SELECT {s:String} AS s, {arr:Array(String)} AS arr, {m:Map(String, Float64)} AS m, {i:Int64} AS i, "
        "{u:UInt32} AS u, toUnixTimestamp64Nano({t:DateTime64(9, 'UTC')}) AS t_ns, length({long:Array(String)}) AS n"
    )
    rows = http_engine.query(sql, params)
    assert rows == [
        {
            "s": odd,
            "arr": [odd, "", "plain"],
            "m": {odd: 1.5, "out": 2.0},
            "i": -(2**40),
            "u": 4_000_000_000,
            "t_ns": 1767323045123456789,
            "n": 60,
        }
    ]
    assert rows == admin_engine.query(sql, params)
    # a command binds the same way
    http_engine.command("CREATE TABLE kv (k String, m Map(String, Float64)) ENGINE = MergeTree ORDER BY k")
    http_engine.command("INSERT INTO kv SELECT {s:String}, {m:Map(String, Float64)}", {"s": odd, "m": {odd: 3.0}})
    assert http_engine.query("SELECT k, m FROM kv") == [{"k": odd, "m": {odd: 3.0}}]


def test_an_insert_retried_with_its_token_lands_once(http_engine: Engine) -> None:
    http_engine.command(
        "CREATE TABLE events (id UInt64, name LowCardinality(String), at DateTime64(9, 'UTC'), "
        "attrs Map(LowCardinality(String), String)) ENGINE = MergeTree ORDER BY id "
        "SETTINGS non_replicated_deduplication_window = 100"
    )
    batch = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.uint64()),
            "name": ["a", "b", "it's"],
            "at": pa.array([NOW, NOW + 1, NOW + 2], pa.timestamp("ns", tz="UTC")),
            "attrs": pa.array([[("k", "v")], [], [("x", "y\tz")]], pa.map_(pa.string(), pa.string())),
        }
    )
    http_engine.insert_arrow("events", batch, token="batch-1")
    http_engine.insert_arrow("events", batch, token="batch-1")
    rows = http_engine.query("SELECT id, name, toUnixTimestamp64Nano(at) AS at, attrs FROM events ORDER BY id")
    assert rows == [
        {"id": 1, "name": "a", "at": NOW, "attrs": {"k": "v"}},
        {"id": 2, "name": "b", "at": NOW + 1, "attrs": {}},
        {"id": 3, "name": "it's", "at": NOW + 2, "attrs": {"x": "y\tz"}},
    ]
    http_engine.insert_arrow("events", batch, token="batch-2")  # another batch with the same rows
    assert http_engine.query("SELECT count() AS n FROM events") == [{"n": 6}]


def test_connection_settings_and_database_reach_the_server(shim: ClickHouseHttpShim, http_database: str) -> None:
    with contextlib.closing(open_engine(shim.url(), http_database, settings={"max_threads": 3})) as tuned:
        rows = tuned.query("SELECT getSetting('max_threads') AS threads, currentDatabase() AS db")
    assert rows == [{"threads": 3, "db": http_database}]
    # per connection: another engine on the same server does not inherit them
    with contextlib.closing(open_engine(shim.url(), http_database)) as plain:
        assert plain.query("SELECT getSetting('max_threads') AS threads")[0]["threads"] != 3


def test_a_wrong_password_is_refused_plainly(shim: ClickHouseHttpShim, http_database: str) -> None:
    with pytest.raises(StorageError) as caught:
        open_engine(shim.url(password="not-the-password"), http_database)
    message = str(caught.value)
    assert message.startswith(f"ClickHouse at http://127.0.0.1:{shim.port} refused user '{shim.user}'")
    assert "Code: 516. DB::Exception" in message
    assert "AUTHENTICATION_FAILED" in message
    assert "not-the-password" not in message


def test_an_unreachable_server_is_named() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(StorageError, match=rf"^cannot reach ClickHouse at http://127\.0\.0\.1:{port}: "):
        open_engine(f"http://someone:secret@127.0.0.1:{port}", "otel")


def test_a_bad_statement_reports_the_servers_first_line(http_engine: Engine, admin_engine: Engine) -> None:
    with pytest.raises(StorageError) as over_http:
        http_engine.query("SELEC 1")
    assert str(over_http.value).startswith("Code: 62. DB::Exception: Syntax error")
    assert "\n" not in str(over_http.value)
    assert "Received ClickHouse exception" not in str(over_http.value)
    assert "for url" not in str(over_http.value)
    with pytest.raises(StorageError) as missing:
        http_engine.command("INSERT INTO no_such_table SELECT 1")
    with pytest.raises(StorageError) as missing_on_chdb:
        admin_engine.command("INSERT INTO no_such_table SELECT 1")
    assert str(missing.value).startswith("Code: 60. DB::Exception: ")
    assert "UNKNOWN_TABLE" in str(missing.value)
    assert str(missing_on_chdb.value).startswith("Code: 60. DB::Exception: ")
