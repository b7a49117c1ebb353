"""Shared fixtures: one chDB data directory per test process (chDB allows one), a fresh database
per test, and real servers (HTTP + gRPC) on free loopback ports."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from livekit_dashboard.api import DashboardServer
from livekit_dashboard.config import Settings
from livekit_dashboard.store import Engine, apply_migrations, open_engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def engine(chdb_dir: Path, database: str) -> Iterator[Engine]:
    eng = open_engine(f"chdb://{chdb_dir}", database)
    apply_migrations(eng)
    yield eng
    eng.command(f"DROP DATABASE IF EXISTS `{database}`")
    eng.close()


ServerFactory = Callable[..., DashboardServer]


def start_server(chdb_dir: Path, **overrides: Any) -> DashboardServer:
    """A running DashboardServer on its own database in the process's chDB directory."""
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
    }
    values.update(overrides)
    server = DashboardServer(Settings(**values))
    server.start_background()
    return server


@pytest.fixture
def make_server(chdb_dir: Path) -> Iterator[ServerFactory]:
    """Start DashboardServers (each on its own database); all are stopped at teardown."""
    started: list[DashboardServer] = []

    def factory(**overrides: Any) -> DashboardServer:
        server = start_server(chdb_dir, **overrides)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(make_server: ServerFactory) -> DashboardServer:
    return make_server()
