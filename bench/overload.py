"""Overload benchmark: OTLP/HTTP at 24, 96 and 288 connections against a real `serve` process, with
wrk (Debian's `wrk` package) as the load generator, so the client costs little CPU.

    python -m bench.overload [--duration 15] [--batch 256]

Every request is a different body (an unknown protobuf field with a counter is appended, which OTLP
decoders ignore), so none is answered as a duplicate of an earlier one. For each level it prints the
acknowledged spans per second, the share refused with 503, request latency, how fast /healthz and a
dashboard read answered during the load, and the server's memory at its peak and after the backlog
drained.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.ingest import Server, build_batches

_LUA = r"""
local body = io.open("%(body)s", "rb"):read("*a")
local counter = 0
local polite = %(polite)s
local wait_ms = 0
local function varint(n)
  local out = {}
  repeat
    local byte = n %% 128
    n = math.floor(n / 128)
    if n > 0 then byte = byte + 128 end
    out[#out + 1] = string.char(byte)
  until n == 0
  return table.concat(out)
end
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
request = function()
  counter = counter + 1
  -- fields 15, 14 and 13 (varints), unknown to OTLP: every body of every thread and run differs
  local b = body .. "\120" .. varint(counter) .. "\112" .. varint(tid) .. "\104" .. varint(%(run)d)
  return wrk.format("POST", "/v1/traces", {["Content-Type"] = "application/x-protobuf"}, b)
end
-- a polite client (as OTLP exporters are) waits out Retry-After before its next request
response = function(status, headers, body)
  if polite and status == 503 then
    wait_ms = (tonumber(headers["Retry-After"]) or 1) * 1000
  end
end
delay = function()
  local ms = wait_ms
  wait_ms = 0
  return ms
end
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %%d, "non2xx": %%d, "timeouts": %%d, "p50_ms": %%.1f, "p99_ms": %%.1f}\n',
    summary.requests, summary.errors.status, summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


class Prober(threading.Thread):
    """Times /healthz and a dashboard read every half second while the load runs."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.health: list[float] = []
        self.reads: list[float] = []
        self.rss: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.wait(0.5):
                t0 = time.perf_counter()
                httpx.get(f"{self.server.url}/healthz", timeout=60)  # a fresh connection, as a probe opens
                self.health.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                client.get(f"{self.server.url}/api/v1/panels/services_languages", params={"start": "now-1h"})
                self.reads.append((time.perf_counter() - t0) * 1000)
                self.rss.append(self.server.rss_mb())


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no extrapolation from a few samples)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _stored(server: Server) -> int:
    stats = httpx.get(f"{server.url}/api/v1/ingest/stats", timeout=120).json()
    return int(stats["traces"]["stored"])


def _drained(server: Server) -> None:
    for _ in range(600):
        if httpx.get(f"{server.url}/api/v1/ingest/stats", timeout=120).json()["queue_depth"] == 0:
            return
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--levels", default="24,96,288")
    parser.add_argument(
        "--impolite", action="store_true", help="clients retry a 503 at once instead of waiting out Retry-After"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp) / "body.pb"
        body_path.write_bytes(build_batches(args.batch, args.batch, seed=3)[0][0])
        script = Path(tmp) / "post.lua"
        server = Server(Path(tmp) / "data")
        idle_rss = server.rss_mb()
        rows = []
        try:
            for run, level in enumerate(int(x) for x in args.levels.split(",")):
                polite = "false" if args.impolite else "true"
                script.write_text(_LUA % {"body": body_path, "polite": polite, "run": run})
                before_stored, before_cpu = _stored(server), server.cpu_s()
                prober = Prober(server)
                prober.start()
                wrk_cmd = ["wrk", "-t2", f"-c{level}", f"-d{args.duration}s", "--timeout", "30s", "-s", str(script)]
                out = subprocess.run(
                    [*wrk_cmd, server.url],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                prober.stop.set()
                prober.join()
                wrk = json.loads(out.strip().splitlines()[-1])
                acked = wrk["requests"] - wrk["non2xx"] - wrk["timeouts"]
                _drained(server)
                time.sleep(3)  # memory handed back after the burst
                stored = _stored(server) - before_stored
                rows.append(
                    {
                        "connections": level,
                        "acked spans/s": acked * args.batch / args.duration,
                        "refused %": 100 * wrk["non2xx"] / max(wrk["requests"], 1),
                        "p50 ms": wrk["p50_ms"],
                        "p99 ms": wrk["p99_ms"],
                        "healthz p99 ms": _pct(prober.health, 99),
                        "read p50 ms": _pct(prober.reads, 50),
                        "read p99 ms": _pct(prober.reads, 99),
                        "RSS peak MB": max(prober.rss or [0]),
                        "RSS after MB": server.rss_mb(),
                        "CPU µs/span": (server.cpu_s() - before_cpu) * 1e6 / max(stored, 1),
                    }
                )
        finally:
            server.stop()
    clients = "retrying at once" if args.impolite else "waiting out Retry-After"
    print(
        f"\nOTLP/HTTP overload, {args.batch}-span requests, clients {clients}, {args.duration} s per level "
        f"(idle RSS {idle_rss:.0f} MB)\n"
    )
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---:|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{row[k]:,.0f}" if isinstance(row[k], float) else str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
