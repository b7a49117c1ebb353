"""The real `livekit-dashboard` process: serve, restart on the same data dir, a second process on a
held data dir, migrate, demo."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.conftest import DatabasePool, free_port, start_server
from tests.helpers import make_spans

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "livekit_dashboard"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_DASHBOARD_")}
    env["LIVEKIT_DASHBOARD_LOG_LEVEL"] = "warning"
    return env


class Served:
    """A `livekit-dashboard serve` process. Its stderr goes to a file beside the data directory (a pipe
    nobody reads would block the server once its buffer fills)."""

    def __init__(
        self, data_dir: Path, port: int = 0, *args: str, grpc_port: int = 0, env: dict[str, str] | None = None
    ) -> None:
        self.port, self.grpc_port = port or free_port(), grpc_port or free_port()
        self.log = data_dir.parent / f"serve-{self.port}.log"
        self._stderr = self.log.open("a")
        self.proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(self.port),
                "--grpc-port",
                str(self.grpc_port),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**_env(), **(env or {})},
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited early: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("serve did not become healthy in 60 s")

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=60)
        self._stderr.close()
        return self.proc.returncode, out, self.log.read_text()


_COUNT_SCRIPT = """
import json, sys
from livekit_dashboard.store import open_engine
engine = open_engine("chdb://" + sys.argv[1], "otel")
print(json.dumps({name: engine.query(sql)[0]["n"] for name, sql in json.loads(sys.argv[2]).items()}))
engine.close()
"""


def count_rows(data_dir: Path, queries: dict[str, str]) -> dict[str, int]:
    """Run counting queries on a data directory no server holds (chDB opens one directory per process,
    so this runs in a process of its own)."""
    import json

    result = subprocess.run(
        [sys.executable, "-c", _COUNT_SCRIPT, str(data_dir), json.dumps(queries)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=True,
    )
    return {k: int(v) for k, v in json.loads(result.stdout.strip().splitlines()[-1]).items()}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_serve_prints_urls_and_keeps_data_across_restart(data_dir: Path) -> None:
    first = Served(data_dir)
    spans = make_spans(service="restart-agent")
    assert OTLPSpanExporter(endpoint=f"{first.url}/v1/traces").export(spans) is SpanExportResult.SUCCESS
    grpc_spans = make_spans(service="restart-grpc")
    grpc_exporter = GrpcSpanExporter(endpoint=f"127.0.0.1:{first.grpc_port}", insecure=True)
    assert grpc_exporter.export(grpc_spans) is SpanExportResult.SUCCESS
    grpc_exporter.shutdown()
    stats = httpx.get(f"{first.url}/api/v1/ingest/stats").json()
    assert stats["traces"]["stored"] == len(spans) + len(grpc_spans)
    code, out, _ = first.stop()
    assert code == 0
    assert f"http://127.0.0.1:{first.port}/" in out
    assert f"OTLP/gRPC       127.0.0.1:{first.grpc_port}" in out

    second = Served(data_dir)
    try:
        for sent in (spans, grpc_spans):
            trace_id = format(sent[0].context.trace_id, "032x")
            body = httpx.get(f"{second.url}/api/v1/traces/{trace_id}").json()
            assert sorted(s["span_id"] for s in body["spans"]) == sorted(
                format(s.context.span_id, "016x") for s in sent
            )
        # counters are since start; the data is not
        assert httpx.get(f"{second.url}/api/v1/ingest/stats").json()["traces"]["stored"] == 0
    finally:
        assert second.stop()[0] == 0


def test_second_process_on_a_held_data_dir_gets_one_line_error(data_dir: Path) -> None:
    first = Served(data_dir)
    try:
        result = subprocess.run(
            [*CLI, "serve", "--data-dir", str(data_dir), "--port", str(free_port()), "--grpc-port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "in use by another livekit-dashboard process" in lines[0]
        assert f"(pid {first.proc.pid})" in lines[0]
        assert "Traceback" not in result.stderr
        migrate = subprocess.run(
            [*CLI, "migrate", "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
        assert migrate.returncode == 2
        assert "in use by another" in migrate.stderr
    finally:
        first.stop()


def test_migrate_then_up_to_date(data_dir: Path) -> None:
    run = [*CLI, "migrate", "--data-dir", str(data_dir)]
    first = subprocess.run(run, capture_output=True, text=True, timeout=60, env=_env(), check=True)
    assert "0001_otel_traces, 0002_otel_logs, 0003_otel_metrics" in first.stdout
    # each migration is announced before it runs, with its cost when it has one (a copy of every span)
    announced = first.stderr.splitlines()
    assert announced[0] == "applying 0001_otel_traces"
    assert any(line.startswith("applying 0021_spans_by_trace (copies every stored span") for line in announced), (
        first.stderr
    )
    again = subprocess.run(run, capture_output=True, text=True, timeout=60, env=_env(), check=True)
    assert "none (up to date)" in again.stdout
    assert "applying" not in again.stderr


def test_port_in_use_is_a_clear_error(data_dir: Path) -> None:
    first = Served(data_dir)
    try:
        result = subprocess.run(
            [
                *CLI,
                "serve",
                "--data-dir",
                str(data_dir.parent / "other"),
                "--port",
                str(first.port),
                "--grpc-port",
                "0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
        assert result.returncode == 2
        assert "failed to start" in result.stderr
    finally:
        first.stop()


def test_a_port_in_use_fails_start_not_a_thread(chdb_dir: Path, database_pool: DatabasePool) -> None:
    """In-process, a taken port is an OSError from start() (pytest fails a test whose thread raised), and
    the server it stopped leaves its database free for the next one."""
    database = database_pool.take()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="failed to start"):
            start_server(chdb_dir, database=database, port=taken.getsockname()[1], grpc_port=0)
    server = start_server(chdb_dir, database=database, grpc_port=0)
    try:
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
    finally:
        server.stop()
        database_pool.give_back(database)


def test_demo_command_loads_data(data_dir: Path) -> None:
    result = subprocess.run(
        [
            *CLI,
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(free_port()),
            "--grpc-port",
            "0",
            "--calls",
            "15",
            "--exit-after-load",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    assert "demo data loaded: 15 calls" in result.stderr
    served = Served(data_dir)
    try:
        stats_line = next(line for line in result.stderr.splitlines() if line.startswith("demo data loaded"))
        spans = int(stats_line.split(", ")[1].split()[0])
        logs = httpx.get(f"{served.url}/api/v1/logs", params={"limit": 1000}).json()["logs"]
        assert logs
        trace = httpx.get(f"{served.url}/api/v1/traces/{logs[0]['trace_id']}").json()
        assert {s["name"] for s in trace["spans"]} >= {"agent_session", "agent_turn"}
    finally:
        served.stop()
    assert spans > 15 * 10
