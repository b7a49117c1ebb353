"""What a CLI user expects of the real `livekit-dashboard` process: --version, defaults in --help, an
access log only when asked for, and JSON log lines for log shippers."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from livekit_dashboard import __version__
from livekit_dashboard.api.access_log import ACCESS_LOGGER
from livekit_dashboard.logconfig import ACCESS_LOGGER as CONFIGURED_ACCESS_LOGGER
from livekit_dashboard.logconfig import JsonFormatter
from tests.e2e.test_cli import CLI, Served, _env

pytestmark = pytest.mark.slow

# "127.0.0.1:50312 "GET /healthz" 200 1.2 ms"
ACCESS_LINE = re.compile(r'127\.0\.0\.1:\d+ "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) \d+\.\d ms')


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # wide enough that rich does not wrap the help table
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, env={**_env(), "COLUMNS": "250"})


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"livekit-dashboard {__version__}"


def test_help_shows_the_defaults() -> None:
    result = run("serve", "--help")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if line.startswith("│ --")}
    assert "[default: (4318)]" in lines["--port"]
    assert "[default: (4317)]" in lines["--grpc-port"]
    assert "[default: (127.0.0.1)]" in lines["--host"]
    assert "[default: (livekit-dashboard-data)]" in lines["--data-dir"]
    assert "[default: (text)]" in lines["--log-format"]
    assert "--access-log" in lines
    demo = run("demo", "--help")
    assert "[default: 400]" in demo.stdout
    assert "[default: (4318)]" in demo.stdout


def test_no_access_log_by_default(tmp_path: Path) -> None:
    served = Served(tmp_path / "data", env={"LIVEKIT_DASHBOARD_LOG_LEVEL": "info"})
    assert httpx.get(f"{served.url}/api/v1/no-such-route").status_code == 404
    code, _, log = served.stop()
    assert code == 0
    assert "Uvicorn running" in log  # info lines are logged: only the access log is off
    assert not ACCESS_LINE.search(log), log
    assert "no-such-route" not in log


def test_access_log_lines_when_asked(tmp_path: Path) -> None:
    # at log level warning too: the access log was asked for by itself
    served = Served(tmp_path / "data", 0, "--access-log")
    assert httpx.get(f"{served.url}/api/v1/no-such-route?x=1").status_code == 404
    assert httpx.get(f"{served.url}/api/v1/panels").status_code == 200
    code, _, log = served.stop()
    assert code == 0
    seen = [m.groupdict() for m in ACCESS_LINE.finditer(log)]
    assert {"method": "GET", "path": "/api/v1/no-such-route?x=1", "status": "404"} in seen, log
    assert {"method": "GET", "path": "/api/v1/panels", "status": "200"} in seen
    assert {"method": "GET", "path": "/healthz", "status": "200"} in seen  # Served's own polling


def test_json_logs_one_object_per_line(tmp_path: Path) -> None:
    # both from the environment, as a container would set them
    served = Served(
        tmp_path / "data",
        env={
            "LIVEKIT_DASHBOARD_LOG_FORMAT": "json",
            "LIVEKIT_DASHBOARD_ACCESS_LOG": "true",
            "LIVEKIT_DASHBOARD_LOG_LEVEL": "info",
        },
    )
    assert httpx.get(f"{served.url}/api/v1/no-such-route").status_code == 404
    code, _, log = served.stop()
    assert code == 0
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    access = [e for e in entries if e["logger"] == ACCESS_LOGGER]
    miss = next(e for e in access if e["path"] == "/api/v1/no-such-route")
    assert miss["method"] == "GET"
    assert miss["status"] == 404
    assert miss["level"] == "info"
    assert isinstance(miss["duration_ms"], float)
    assert miss["duration_ms"] >= 0
    assert any(e["logger"] == "uvicorn.error" and "Uvicorn running" in e["message"] for e in entries)
    assert not any("\x1b[" in json.dumps(e) for e in entries)  # no terminal colour codes
    assert any(e["message"] == "stopping (writing queued data)" for e in entries)


def test_json_formatter_keeps_tracebacks_and_fields() -> None:
    assert CONFIGURED_ACCESS_LOGGER == ACCESS_LOGGER
    try:
        raise ValueError('bad "value"\nsecond line')
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("once",), sys.exc_info(), extra={"status": 500}
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "failed once"
    assert entry["level"] == "error"
    assert entry["status"] == 500
    assert entry["exception"].startswith("Traceback")
    assert 'ValueError: bad "value"' in entry["exception"]
