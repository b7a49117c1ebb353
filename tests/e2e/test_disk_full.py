"""A disk that fills up: a real `serve` process on a small tmpfs. Ingest refuses (503, Retry-After)
before the disk is full and says so in /readyz; when the engine itself runs out of space mid-insert
(a part of the raw table written, a derived table's not), the acknowledged rows wait in the
write-ahead log; once space is freed everything acknowledged is stored exactly once, in the raw table
and every derived table. (Before, chDB's streaming insert returned normally on a full disk: rows
answered 200 vanished.) Mounting needs root, as CI runs."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.e2e.test_cli import Served, count_rows
from tests.helpers import make_spans

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a size-limited tmpfs needs root (CI runs as root)"),
]
PB = {"Content-Type": "application/x-protobuf"}
MIB = 2**20


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def _fill(disk: Path, leave_bytes: int) -> Path:
    """A filler file that leaves about `leave_bytes` free."""
    filler = disk / "filler"
    size = max(0, _free(disk) - leave_bytes + (filler.stat().st_size if filler.exists() else 0))
    with filler.open("wb") as fh:
        fh.truncate(0)
        os.posix_fallocate(fh.fileno(), 0, size)
    return filler


def _send(url: str, n: int) -> tuple[list[list[object]], list[httpx.Response]]:
    acknowledged: list[list[object]] = []
    refused: list[httpx.Response] = []
    for _ in range(n):
        spans = make_spans(service="disk-agent", n_turns=4)
        r = httpx.post(f"{url}/v1/traces", content=encode_spans(spans).SerializeToString(), headers=PB, timeout=30)
        if r.status_code == 200:
            acknowledged.append(list(spans))
        else:
            refused.append(r)
    return acknowledged, refused


def _wait_drained(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/api/v1/ingest/stats", timeout=30).json()["queue_depth"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError("acknowledged rows were not written after space returned")


def _stats(url: str) -> dict[str, object]:
    return dict(httpx.get(f"{url}/api/v1/ingest/stats", timeout=30).json())


def test_a_full_disk_refuses_early_and_loses_nothing_acknowledged(small_disk: Path) -> None:
    data_dir = small_disk / "data"
    server = Served(data_dir, env={"LIVEKIT_DASHBOARD_MIN_FREE_DISK_MB": "8"})
    url = server.url
    acknowledged: list[list[object]] = []
    try:
        ok, refused = _send(url, 5)
        acknowledged += ok
        assert not refused
        assert httpx.get(f"{url}/readyz").status_code == 200

        # 1. below min_free_disk_mb: refused before anything is written, said by /readyz and stats
        filler = _fill(small_disk, 4 * MIB)
        time.sleep(1.1)  # free space is checked at most once a second
        ok, refused = _send(url, 5)
        acknowledged += ok
        assert refused
        assert not ok
        assert {r.status_code for r in refused} == {503}
        assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert "disk almost full" in ready.json()["error"]
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive: a restart would not help

        # 2. the engine itself out of space mid-insert (the guard turned off by leaving it just
        # enough: the write-ahead log takes the small appends, the engine's parts need more)
        filler.unlink()
        server.stop()
        server = Served(data_dir, server.port, env={"LIVEKIT_DASHBOARD_MIN_FREE_DISK_MB": "0"})
        url = server.url
        _fill(small_disk, 700 * 1024)
        ok, refused = _send(url, 8)
        acknowledged += ok
        assert ok, "the write-ahead log takes requests while the engine cannot write"
        time.sleep(1.0)
        stats = _stats(url)
        assert int(str(stats["queue_depth"])) > 0, "acknowledged rows wait for space, they are not dropped"
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert "space" in ready.json()["error"].lower() or "243" in ready.json()["error"]

        # 3. space returns: everything acknowledged is written, by itself
        (small_disk / "filler").unlink()
        _wait_drained(url)
        assert httpx.get(f"{url}/readyz").status_code == 200
        ok, refused = _send(url, 3)
        acknowledged += ok
        assert len(ok) == 3
    finally:
        server.stop()
    calls = len(acknowledged)
    counts = count_rows(
        data_dir,
        {
            "spans": "SELECT count() AS n FROM otel_traces",
            "distinct_spans": "SELECT uniqExact(TraceId, SpanId) AS n FROM otel_traces",
            "traces": "SELECT uniqExact(TraceId) AS n FROM otel_traces",
            "requests": "SELECT count() AS n FROM lk_requests",
            "turns": "SELECT count() AS n FROM lk_turns",
            "calls": "SELECT count() AS n FROM lk_calls",
            "hour_requests": "SELECT sum(Requests) AS n FROM lk_request_hours",
            "usage_tokens": "SELECT sum(InputTokens) AS n FROM lk_call_usage",
        },
    )
    print(f"full disk: {calls} requests acknowledged; stored {counts}")
    assert counts["traces"] == calls  # every acknowledged request, and none of the refused ones
    assert counts["spans"] == counts["distinct_spans"] == 9 * calls
    assert counts["requests"] == counts["hour_requests"] == 4 * calls
    assert counts["turns"] == 4 * calls
    assert counts["calls"] == calls
    assert counts["usage_tokens"] == (100 + 101 + 102 + 103) * calls
