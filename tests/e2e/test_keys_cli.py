"""The real `livekit-dashboard keys` and banner: the startup banner says whether keys are required and how
to get the first super-admin key; `keys create` says where it wrote, hands the key to a server holding
the data directory (the key works at once, no restart), and warns when the server answering on the
configured port keeps its data elsewhere; `keys list` on a held directory says what to do instead;
the demo prints a UI link whose range holds its data."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.test_cli import CLI, Served, _env

pytestmark = pytest.mark.slow


def _keys(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "keys", *args], capture_output=True, text=True, timeout=120, env={**_env(), **(env or {})}
    )


def _admin(url: str, key: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/keys", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_the_first_admin_key_is_created_while_the_server_runs(tmp_path: Path) -> None:
    data_dir = (tmp_path / "data").resolve()
    served = Served(data_dir)
    try:
        created = _keys("create", "--name", "admin", "--role", "super-admin", "--data-dir", str(data_dir))
        assert created.returncode == 0, created.stderr
        lines = created.stdout.strip().splitlines()
        assert lines[0] == (
            f"storage: chdb://{data_dir} (database otel); handed to the server holding it "
            f"(pid {served.proc.pid}), which accepts it now"
        )
        assert lines[1].startswith("created key ")
        assert "(super-admin, admin)" in lines[1]
        key = lines[-1]
        assert created.stderr == ""
        # no restart: the running server takes the key at once
        listed = _admin(served.url, key)
        assert listed.status_code == 200, listed.text
        assert [k["name"] for k in listed.json()["keys"]] == ["admin"]
        # and keys listed through the CLI need the server's API meanwhile, which the error says
        held = _keys("list", "--data-dir", str(data_dir), env={"LIVEKIT_DASHBOARD_PORT": str(served.port)})
        assert held.returncode == 2
        assert f"in use by another livekit-dashboard process (pid {served.proc.pid})" in held.stderr
        assert f"POST {served.url}/api/v1/keys with a super-admin key" in held.stderr
        assert "LIVEKIT_DASHBOARD_ADMIN_KEY=" in held.stderr
    finally:
        code, out, _ = served.stop()
    assert code == 0
    # the banner of that start: keys not required on loopback, and how to get the first admin key
    assert "  API keys        not required for the UI, reads and ingest (bound to 127.0.0.1)" in out
    assert "no super-admin key yet" in out
    assert f"livekit-dashboard keys create --name admin --role super-admin --data-dir {data_dir}" in out
    assert "LIVEKIT_DASHBOARD_ADMIN_KEY=" in out
    # the next start knows the key (it is stored, not only in that server's memory)
    again = Served(data_dir, 0, "--host", "127.0.0.1", env={"LIVEKIT_DASHBOARD_AUTH": "required"})
    try:
        assert _admin(again.url, key).status_code == 200
        assert httpx.get(f"{again.url}/api/v1/panels", timeout=30).status_code == 401
    finally:
        _, out, _ = again.stop()
    assert "  API keys        required: the UI, the read API and ingest need a key" in out
    assert "1 active key(s), 1 super-admin" in out


def test_a_key_written_where_the_server_does_not_look_is_warned_about(tmp_path: Path) -> None:
    served = Served(tmp_path / "server-data")
    elsewhere = (tmp_path / "other-data").resolve()
    try:
        created = _keys(
            "create",
            "--name",
            "lost",
            "--role",
            "super-admin",
            "--data-dir",
            str(elsewhere),
            env={"LIVEKIT_DASHBOARD_PORT": str(served.port)},
        )
        assert created.returncode == 0, created.stderr
        assert created.stdout.splitlines()[0] == f"storage: chdb://{elsewhere} (database otel)"
        warnings = created.stderr.strip().splitlines()
        assert len(warnings) == 2, created.stderr
        assert warnings[0].startswith(f"livekit-dashboard: warning: {elsewhere} did not exist")
        assert warnings[1].startswith(
            f"livekit-dashboard: warning: the livekit-dashboard server at {served.url} keeps its data in "
            f"chdb://{(tmp_path / 'server-data').resolve()} (database otel), not where this key went"
        )
        # the warning is right: that server refuses the key
        assert _admin(served.url, created.stdout.strip().splitlines()[-1]).status_code == 401
    finally:
        served.stop()
    # with no server answering, nothing is claimed about one
    quiet = _keys(
        "create",
        "--name",
        "second",
        "--role",
        "viewer",
        "--data-dir",
        str(elsewhere),
        env={"LIVEKIT_DASHBOARD_PORT": str(free_port())},
    )
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""


def test_the_demo_opens_on_a_range_that_holds_its_data(tmp_path: Path) -> None:
    port = free_port()

    def demo(folder: str, *args: str) -> str:
        """Run the demo on a data folder until its data is loaded; what it printed."""
        run = [*CLI, "demo", "--data-dir", str(tmp_path / folder), "--port", str(port), "--grpc-port", "0"]
        done = subprocess.run(
            [*run, *args, "--exit-after-load"], capture_output=True, text=True, timeout=300, env=_env()
        )
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    ui = f"  web UI          http://127.0.0.1:{port}/?start=now-7d\n"
    assert ui in demo("demo", "--calls", "4", "--days", "2")
    # again on the data it keeps: the range holds what is stored (two days back), not what --days would
    again = demo("demo", "--days", "0.5")
    assert "demo data already present" in again
    assert ui in again
    # the default week of demo data opens on the week, as the README says (not on 30 days)
    assert ui in demo("week", "--calls", "2", "--days", "7")
