"""Browser benchmark: the whole dashboard in headless Chromium (Debian's, driven by Playwright), from
navigation start until every panel of the grid is drawn (`data-state` ready, empty or error), for the
30-day and the 24-hour range. Prints a table (with the server's CPU per load and the browser's, which
share the machine's cores), and where the time of a load goes.

    python -m bench.browser [--data-dir DIR] [--runs 5] [--profile]

Starts `livekit-dashboard serve` on DIR (bound to loopback: the UI needs no key; give --key when the
environment makes the server require one) and waits until it is idle. Each run opens a new browser
context and loads the page ("cold": empty HTTP cache), then reloads it ("warm"). Without --data-dir
the demo data (400 calls over 30 days) is generated into a temporary directory first.

Each range is loaded again with every API request answered from memory (the answers of that range's
first load, through Playwright's request routing): what the browser alone spends on a load, the
floor that no work on the server can go under on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Route, sync_playwright

from bench.ingest import wait_idle

CHROMIUM = os.environ.get("LIVEKIT_DASHBOARD_CHROMIUM", "/usr/bin/chromium")
CLI = shutil.which("livekit-dashboard", path=str(Path(sys.executable).parent)) or "livekit-dashboard"
RANGES = {"30 d": "now-30d", "24 h": "now-24h"}
# the moment (ms after navigation start) every panel has settled; 0 (keep polling) until then
DRAWN = """() => {
  const s = [...document.querySelectorAll('.dashboard section.panel')];
  return s.length && s.every((p) => ['ready', 'empty', 'error'].includes(p.dataset.state)) ? performance.now() : 0;
}"""
RESOURCES = """() => performance.getEntriesByType('resource').map((e) => ({
  path: new URL(e.name).pathname, start: e.startTime, request: e.requestStart, end: e.responseEnd,
}))"""
STATES = "(s) => s.map((p) => [p.dataset.panel, p.dataset.state, p.textContent.slice(0, 200)])"
Results = dict[str, dict[str, list[dict[str, Any]]]]  # range -> first / cold / warm -> loads


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop(); read when the start fails)
        cmd = [CLI, "serve", "--data-dir", str(data_dir), "--port", port, "--grpc-port", "0"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 600  # migrations on a large dataset may run first
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"server did not start:\n{output}")

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self) -> None:
        wait_idle(self.cpu_s)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_cpu_s(server: Server) -> float:
    """CPU of this process's descendants but the server: Playwright's driver and Chromium's processes,
    which share the machine's cores with the server during a load."""
    stats = {int(d.name): _proc_stat(int(d.name)) for d in Path("/proc").iterdir() if d.name.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    total, todo = 0.0, [pid for pid in children.get(os.getpid(), []) if pid != server.proc.pid]
    while todo:
        pid = todo.pop()
        stat = stats.get(pid)
        total += stat[1] if stat else 0.0
        todo.extend(children.get(pid, []))
    return total


class Replay:
    """Every API answer of a range, recorded once from the server, then answered again from memory: a
    load then costs what the browser alone spends (plus Playwright's round trip per request), the
    floor no work on the server can go under."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}

    def handle(self, route: Route) -> None:
        answer = self.answers.get(route.request.url)
        if answer is None:
            response = route.fetch()
            answer = {"status": response.status, "headers": response.headers, "body": response.body()}
            self.answers[route.request.url] = answer
        route.fulfill(**answer)


def load(page: Page, server: Server, url: str | None) -> dict[str, Any]:
    """One page load (goto url, or reload): its timings, the API requests, server and browser CPU, panel
    states."""
    before, browser_before = server.cpu_s(), browser_cpu_s(server)
    if url:
        page.goto(url, wait_until="commit")
    else:
        page.reload(wait_until="commit")
    drawn = float(page.wait_for_function(DRAWN, polling="raf", timeout=120_000).json_value())
    cpu_ms = 1000 * (server.cpu_s() - before)
    browser_ms = 1000 * (browser_cpu_s(server) - browser_before)
    resources: list[dict[str, Any]] = page.evaluate(RESOURCES)
    api = [r for r in resources if r["path"].startswith("/api/")]
    static = [r for r in resources if r["path"].startswith("/static/")]
    spans = sorted((r["request"], r["end"]) for r in api)
    in_flight = max((sum(s <= a < e for s, e in spans) for a, _ in spans), default=0)
    return {
        "ms": drawn,
        "cpu_ms": cpu_ms,
        "browser_ms": browser_ms,
        "requests": len(api),
        "slowest": max((r["end"] - r["request"] for r in api), default=0.0),
        "static_end": max((r["end"] for r in static), default=0.0),
        "first_api": min((r["start"] for r in api), default=0.0),
        "last_api": max((r["end"] for r in api), default=0.0),
        "render": drawn - max((r["end"] for r in api), default=0.0),
        "in_flight": in_flight,
        "resources": resources,
        "states": page.eval_on_selector_all(".dashboard section.panel", STATES),
    }


def print_profile(label: str, run: dict[str, Any]) -> None:
    print(f"\nlast cold load, {label}: drawn at {run['ms']:.0f} ms\n")
    print("| resource | start ms | queued ms | response ms | end ms |")
    print("|---|---:|---:|---:|---:|")
    for r in sorted(run["resources"], key=lambda r: r["start"]):
        queued, response = r["request"] - r["start"], r["end"] - r["request"]
        print(f"| {r['path']} | {r['start']:.0f} | {queued:.0f} | {response:.0f} | {r['end']:.0f} |")


def demo_data(data_dir: Path) -> None:
    port = str(free_port())
    cmd = [CLI, "demo", "--data-dir", str(data_dir), "--days", "30", "--port", port, "--grpc-port", "0"]
    done = subprocess.run([*cmd, "--exit-after-load"], capture_output=True, text=True)
    if done.returncode or "demo data loaded" not in done.stderr:
        sys.exit(f"demo data failed:\n{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a dataset (bench.panels builds one); default: demo data")
    parser.add_argument("--runs", type=int, default=5, help="cold and warm loads per range")
    parser.add_argument("--key", default="", help="API key for the UI, when the server requires one")
    parser.add_argument("--profile", action="store_true", help="list every request of the last cold load")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="lkd-browser-") as tmp:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(tmp) / "data"
            print(f"generating demo data in {data_dir} ...", file=sys.stderr)
            demo_data(data_dir)
        server = Server(data_dir)
        try:
            server.wait_idle()
            results = measure(server, args.runs, args.key)
        finally:
            server.stop()
    report(results, args.runs, args.profile)


def measure(server: Server, runs: int, key: str) -> Results:
    results: Results = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        errors: list[str] = []
        for label, start in RANGES.items():
            url = f"{server.url}/?start={start}"
            results[label] = loads(browser, server, url, runs, key, errors, None)
            print(f"  {label}: first load after start {results[label]['first'][0]['ms']:.0f} ms", file=sys.stderr)
            # the same loads with every API request answered from memory: the browser's own share
            results[f"{label}, API from memory"] = loads(browser, server, url, runs, key, errors, Replay())
        browser.close()
    if errors:
        sys.exit(f"JavaScript errors: {errors}")
    return results


def loads(
    browser: Browser, server: Server, url: str, runs: int, key: str, errors: list[str], replay: Replay | None
) -> dict[str, list[dict[str, Any]]]:
    """runs cold loads, each in a new context and then reloaded (warm), after a first one reported on its
    own (the server's caches cold; with replay, the one that records the answers)."""
    by: dict[str, list[dict[str, Any]]] = {"first": [], "cold": [], "warm": []}
    for i in range(runs + 1):
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        if key:
            context.add_init_script(f"sessionStorage.setItem('lkd.key', {key!r})")
        if replay:
            context.route("**/api/**", replay.handle)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        by["first" if i == 0 else "cold"].append(load(page, server, url))
        if i:
            by["warm"].append(load(page, server, None))
        context.close()
    return by


def report(results: Results, runs: int, profile: bool) -> None:
    def med(loads: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(run[key] for run in loads))

    print(f"\nWhole dashboard in headless Chromium, navigation start to every panel drawn; median of {runs} runs\n")
    print(
        "| range | cold median ms | warm median ms | requests | slowest response ms | server CPU ms/load "
        "| browser CPU ms/load |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, by in results.items():
        both = by["cold"] + by["warm"]
        print(
            f"| {label} | {med(by['cold'], 'ms'):.0f} | {med(by['warm'], 'ms'):.0f} | {med(both, 'requests'):.0f} "
            f"| {med(both, 'slowest'):.0f} | {med(both, 'cpu_ms'):.0f} | {med(both, 'browser_ms'):.0f} |"
        )
    print("\nWhere the time goes (ms after navigation start, medians)\n")
    head = ["static files done", "first API request", "last API response", "drawn", "drawing after it", "API in flight"]
    print(f"| range | load | {' | '.join(head)} |\n|---|---|{'---:|' * len(head)}")
    for label, by in results.items():
        for kind in ("cold", "warm"):
            keys = ("static_end", "first_api", "last_api", "ms", "render", "in_flight")
            cells = [f"{med(by[kind], k):.0f}" for k in keys]
            print(f"| {label} | {kind} | {' | '.join(cells)} |")
    failed = [
        f"{label}: {name}: {text}"
        for label, by in results.items()
        for run in by["first"] + by["cold"] + by["warm"]
        for name, state, text in run["states"]
        if state == "error"
    ]
    if profile:
        for label, by in results.items():
            print_profile(label, by["cold"][-1])
    print(f"\npanels in error: {len(failed)}")
    if failed:
        sys.exit("FAILED, panels in error:\n" + "\n".join(sorted(set(failed))))


if __name__ == "__main__":
    main()
