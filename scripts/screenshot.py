"""Save docs/images/dashboard.png (the top of the dashboard) and docs/images/cost.png (its cost panels)
over demo data, in headless Debian chromium.

    python scripts/screenshot.py [--out docs/images/dashboard.png] [--cost-out docs/images/cost.png]

Starts a server on a temporary data directory, loads demo data, and photographs the page.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from livekit_dashboard.config import Settings
from livekit_dashboard.demo import DemoConfig, generate
from livekit_dashboard.server import DashboardServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/images/dashboard.png")
    parser.add_argument("--cost-out", default="docs/images/cost.png")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only its top")
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        server = DashboardServer(Settings(data_dir=Path(tmp), port=port, grpc_port=0, log_level="warning"))
        server.start_background()
        try:
            generate(DemoConfig(calls=300, days=7, seed=42, end_ns=time.time_ns() - 60 * 10**9), server.base_url)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=args.chromium,
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
                )
                page = browser.new_page(viewport={"width": 1440, "height": 1050})
                page.goto(f"{server.base_url}/?start=now-7d")
                page.wait_for_selector("body[data-loaded=true]", timeout=60_000)
                page.wait_for_timeout(500)
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=args.out, full_page=args.full_page)
                # the cost panels: from the first one's top to the last one's bottom
                boxes = [b for b in (p.bounding_box() for p in page.locator("[data-panel^=cost_]").all()) if b]
                top = min(b["y"] for b in boxes)
                bottom = max(b["y"] + b["height"] for b in boxes)
                clip = {"x": 0, "y": top - 8, "width": 1440, "height": bottom - top + 16}
                page.screenshot(path=args.cost_out, full_page=True, clip=clip)
                browser.close()
        finally:
            server.stop()
    print(f"wrote {args.out} and {args.cost_out}")


if __name__ == "__main__":
    main()
