"""Shared fixtures: one chDB data directory per test process (chDB allows one), a migrated database
per test from a pool, and real servers (HTTP + gRPC) on free loopback ports.

Migrating a database costs about 1.5 s, emptying one about 0.2 s: a database is migrated once per
test process, emptied (every table truncated, its write-ahead log deleted) after each test that used
it, and handed to the next test. A database left behind would slow every later engine start (chDB
loads them all), so the pool drops what it holds at the end."""

from __future__ import annotations

import contextlib
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from livekit_dashboard.config import Settings
from livekit_dashboard.server import DashboardServer
from livekit_dashboard.store import Engine, apply_migrations, open_engine
from livekit_dashboard.store.engine import DEFAULT_READ_CACHE_MB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


CLUSTERS_CONFIG = Path(__file__).parent / "fixtures" / "chdb_clusters.xml"


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The process's chDB directory. chDB reads its server settings at the first connection of the
    process, so this opens it first, with the test clusters of fixtures/chdb_clusters.xml and the
    engine's default cache of decompressed blocks."""
    import chdb

    path = tmp_path_factory.mktemp("chdb")
    first = chdb.connect(f"{path}?config-file={CLUSTERS_CONFIG}&uncompressed_cache_size={DEFAULT_READ_CACHE_MB << 20}")
    yield path
    first.close()


@pytest.fixture(scope="session")
def admin_engine(chdb_dir: Path) -> Iterator[Engine]:
    """An engine on the process's chDB directory for housekeeping."""
    eng = open_engine(f"chdb://{chdb_dir}", "default")
    yield eng
    eng.close()


def drop_database(engine: Engine, database: str) -> None:
    engine.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")


class DatabasePool:
    """Migrated, empty databases for tests, reused within the test process."""

    def __init__(self, chdb_dir: Path, admin: Engine) -> None:
        self._chdb_dir = chdb_dir
        self._admin = admin
        self._free: list[str] = []
        self._all: set[str] = set()

    def take(self) -> str:
        if self._free:
            return self._free.pop()
        name = f"t_{uuid.uuid4().hex[:12]}"
        engine = open_engine(f"chdb://{self._chdb_dir}", name)
        try:
            apply_migrations(engine)
        finally:
            engine.close()
        self._all.add(name)
        return name

    def give_back(self, name: str) -> None:
        """Empty a database (its tables, write-ahead log and recordings) and keep it for the next test; one that
        is not the pool's (a test's own) is dropped."""
        shutil.rmtree(self._chdb_dir / "livekit-dashboard-wal" / name, ignore_errors=True)
        shutil.rmtree(self._chdb_dir / "livekit-dashboard-recordings" / name, ignore_errors=True)
        if name not in self._all:
            drop_database(self._admin, name)
            return
        tables = self._admin.query(
            "SELECT name, position(create_table_query, ' TTL ') > 0 AS ttl FROM system.tables "
            "WHERE database = {db:String} AND engine LIKE '%MergeTree' AND name != 'livekit_dashboard_migrations'",
            {"db": name},
        )
        for row in tables:
            self._admin.command(f"TRUNCATE TABLE `{name}`.`{row['name']}` SYNC")
            if row["ttl"]:  # a test's retention setting is not the next test's
                self._admin.command(f"ALTER TABLE `{name}`.`{row['name']}` REMOVE TTL")
        self._free.append(name)

    def close(self) -> None:
        for name in self._all:
            drop_database(self._admin, name)


@pytest.fixture(scope="session")
def database_pool(chdb_dir: Path, admin_engine: Engine) -> Iterator[DatabasePool]:
    pool = DatabasePool(chdb_dir, admin_engine)
    yield pool
    pool.close()


@pytest.fixture
def database(database_pool: DatabasePool) -> Iterator[str]:
    """A migrated, empty database of its own for this test."""
    name = database_pool.take()
    yield name
    database_pool.give_back(name)


@pytest.fixture
def engine(chdb_dir: Path, database: str) -> Iterator[Engine]:
    eng = open_engine(f"chdb://{chdb_dir}", database)
    yield eng
    eng.close()


@pytest.fixture
def own_engine(chdb_dir: Path, admin_engine: Engine) -> Iterator[Engine]:
    """A migrated database of this test's own, dropped after it (for tests that change the schema)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    eng = open_engine(f"chdb://{chdb_dir}", name)
    apply_migrations(eng)
    yield eng
    eng.close()
    drop_database(admin_engine, name)


ServerFactory = Callable[..., DashboardServer]


def start_server(chdb_dir: Path, **overrides: Any) -> DashboardServer:
    """A running DashboardServer on the given (or a new) database in the process's chDB directory."""
    values: dict[str, Any] = {
        "storage_dsn": f"chdb://{chdb_dir}",
        "database": f"t_{uuid.uuid4().hex[:12]}",
        "port": free_port(),
        "grpc_port": free_port(),
        "flush_interval_ms": 5,
        "log_level": "warning",
        # tests post fixed, sometimes old timestamps; retention has its own tests
        "retention_days_traces": 0,
        "retention_days_logs": 0,
        "retention_days_metrics": 0,
        "retention_days_usage": 0,
        # tests fill no disk (the full-disk test sets its own)
        "min_free_disk_mb": 0,
    }
    values.update(overrides)
    for attempt in range(3):
        server = DashboardServer(Settings(**values))
        try:
            server.start_background()
            return server
        except OSError:
            # a port free when picked can be taken before the server binds it (another worker, a client's
            # connection): pick new ones, unless the test chose them
            if attempt == 2 or "port" in overrides:
                raise
            values["port"] = free_port()
    raise AssertionError("unreachable")


@contextlib.contextmanager
def serving(chdb_dir: Path, pool: DatabasePool, **overrides: Any) -> Iterator[DashboardServer]:
    """A running server for a `with` block (module-scoped fixtures); stopped and its database given
    back after."""
    database = overrides.pop("database", None) or pool.take()
    server = start_server(chdb_dir, database=database, **overrides)
    try:
        yield server
    finally:
        server.stop()
        pool.give_back(database)


@pytest.fixture
def make_server(chdb_dir: Path, database_pool: DatabasePool) -> Iterator[ServerFactory]:
    """Start DashboardServers (each on its own database unless given one); all are stopped, and their
    databases given back, at teardown."""
    started: list[DashboardServer] = []

    def factory(**overrides: Any) -> DashboardServer:
        if "database" not in overrides:
            overrides["database"] = database_pool.take()
        server = start_server(chdb_dir, **overrides)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()
    for database in {server.settings.database for server in started}:
        database_pool.give_back(database)


@pytest.fixture
def server(make_server: ServerFactory) -> DashboardServer:
    return make_server()


# -- a real ClickHouse server, when one is named (tests/store/test_http_engine.py) -------------------
REAL_CLICKHOUSE_ENV = "LIVEKIT_DASHBOARD_TEST_CLICKHOUSE_URL"
_REAL_CLICKHOUSE_NOT_RUN = pytest.StashKey[int]()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A `clickhouse_endpoint` argument runs a test against the chDB stand-in ("shim") and, when
    REAL_CLICKHOUSE_ENV names one, a real ClickHouse server ("server"); unnamed, the server runs are
    counted for the summary instead of generated."""
    if "clickhouse_endpoint" not in metafunc.fixturenames:
        return
    import os

    endpoints = ["shim"]
    if os.environ.get(REAL_CLICKHOUSE_ENV):
        endpoints.append("server")
    else:
        metafunc.config.stash[_REAL_CLICKHOUSE_NOT_RUN] = metafunc.config.stash.get(_REAL_CLICKHOUSE_NOT_RUN, 0) + 1
    metafunc.parametrize("clickhouse_endpoint", endpoints)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    not_run = config.stash.get(_REAL_CLICKHOUSE_NOT_RUN, 0)
    if not_run:
        terminalreporter.write_line(
            f"real ClickHouse server tests not run: {not_run} "
            f"(set {REAL_CLICKHOUSE_ENV}=http://user:pass@host:8123 to run them)"
        )
