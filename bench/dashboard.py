"""The dashboard after a simulated day: its load time, the time from a /ws fill to the updated
trades table, and the screenshots of docs/dashboard.md.

Runs the real service (`main.py --simulate --speed 600`, its own process, a fresh ledger) until
a market day has passed, then drives Debian's Chromium with Playwright:
- load: navigation start to the page ready (REST snapshot read, chart drawn, /ws open), over
  `--loads` fresh loads at 1440 px;
- fill to cells: each /ws `trade` frame's arrival in the page to the next change of the trades
  table (the page batches renders per animation frame), over `--seconds` of trading;
- screenshots (docs/): the page at 1440 and 390 px, the round trips, the P&L per day and, from
  `main.py optimize --html` on the 500 recorded testnet klines, an optimisation report.

    .venv/bin/python -m bench.dashboard [--day-minutes 1440] [--seconds 60] [--shots docs]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.soak import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
TOKEN = "bench-dashboard-token-7d1e"
KLINES = ROOT / "tests" / "data" / "binance" / "testnet-btcusdt-2026-06-15" / "klines_1m.json"

# Each /ws trade frame's arrival (before the page's own handler runs: this listener is added
# when the socket is made), and each change of the trades table, in page time.
PROBE = """
(() => {
  window.benchFrames = []; window.benchRenders = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        if (ev.data.startsWith('{"type":"trade"')) window.benchFrames.push(performance.now());
      });
    }
  };
  document.addEventListener("DOMContentLoaded", () => {
    const body = document.querySelector("#trades-table tbody");
    new MutationObserver(() => window.benchRenders.push(performance.now()))
      .observe(body, { childList: true, subtree: true, characterData: true });
  });
})();
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def start_service(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "JOURNAL_PATH": str(folder / "trades.jsonl"),
        "DATABASE_URL": f"sqlite:///{folder / 'trades.db'}",
        "API_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    log = (folder / "service.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "main.py", "--simulate", "--speed", "600", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for_market(url: str, minutes: int, deadline_s: float) -> int:
    """Until `minutes` of market time have passed since the service started; the minutes."""
    end = time.monotonic() + deadline_s
    first: int | None = None
    while time.monotonic() < end:
        try:
            health = httpx.get(url + "/health", timeout=2).json()
        except httpx.HTTPError:
            time.sleep(0.5)
            continue
        first = first if first is not None else health["started_ms"]
        passed = (health["now_ms"] - first) // 60_000
        if passed >= minutes:
            return int(passed)
        time.sleep(2)
    raise SystemExit(f"the market did not reach {minutes} minutes in {deadline_s:.0f} s")


def page_of(browser: Any, width: int, height: int) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=width < 500, has_touch=width < 500
    )
    context.add_init_script(f"sessionStorage.setItem('apiToken', '{TOKEN}')")
    context.add_init_script(PROBE)
    return context.new_page()


def ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.wait_for_selector("#conn[data-state='open']", timeout=30_000)


def measure(browser: Any, url: str, loads: int, seconds: float) -> tuple[list[float], list[float]]:
    load_ms: list[float] = []
    for _ in range(loads):
        page = page_of(browser, 1440, 900)
        started = time.perf_counter()
        page.goto(url + "/")
        ready(page)
        load_ms.append((time.perf_counter() - started) * 1000)
        page.context.close()
    page = page_of(browser, 1440, 900)
    page.goto(url + "/")
    ready(page)
    page.evaluate("window.benchFrames = []; window.benchRenders = [];")
    page.wait_for_timeout(seconds * 1000)
    frames = page.evaluate("window.benchFrames")
    renders = page.evaluate("window.benchRenders")
    page.context.close()
    latency: list[float] = []
    for t in frames:
        after = next((r for r in renders if r >= t), None)
        if after is not None:
            latency.append(after - t)
    return load_ms, latency


def screenshots(browser: Any, url: str, folder: Path, work: Path) -> list[Path]:
    out: list[Path] = []
    page = page_of(browser, 1440, 900)
    page.goto(url + "/")
    ready(page)
    page.wait_for_timeout(2500)  # the equity curves and the results card
    clear = "document.getElementById('toasts').replaceChildren()"
    page.evaluate(clear)
    out.append(folder / "dashboard.png")
    page.screenshot(path=str(out[-1]))
    page.locator("#results").scroll_into_view_if_needed()
    page.wait_for_selector("#results[data-trips]")
    page.evaluate(clear)
    out.append(folder / "dashboard-trips.png")
    page.locator("#results").screenshot(path=str(out[-1]))
    page.click("#results-tabs [data-tab='periods']")
    page.select_option("#periods-kind", "day")
    page.wait_for_selector("#results[data-periods]")
    page.evaluate(clear)
    out.append(folder / "dashboard-pnl.png")
    page.locator("#results").screenshot(path=str(out[-1]))
    page.context.close()
    phone = page_of(browser, 390, 844)
    phone.goto(url + "/")
    ready(phone)
    phone.wait_for_timeout(2000)
    phone.evaluate(clear)
    out.append(folder / "dashboard-390.png")
    phone.screenshot(path=str(out[-1]), full_page=True)
    phone.context.close()
    report = work / "optimize.html"
    subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "optimize", "--data", str(KLINES),
         "--symbol", "BTCUSDT", "--param", "ema_period=3,5,8", "--param", "sma_period=10,20,30",
         "--param", "stop_loss=0.1,0.15", "--workers", "1", "--html", str(report)],
        cwd=work, check=True, capture_output=True, timeout=600,
        env={k: v for k, v in os.environ.items() if k not in ("VARIANTS", "DATABASE_URL")},
    )  # fmt: skip
    view = browser.new_context(viewport={"width": 1440, "height": 1100}).new_page()
    view.goto(report.as_uri())
    view.wait_for_selector("body[data-charts='drawn']")
    out.append(folder / "optimize-report.png")
    view.screenshot(path=str(out[-1]))
    view.context.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--day-minutes", type=int, default=1440, help="market minutes to run first")
    parser.add_argument("--seconds", type=float, default=60.0, help="fills measured this long")
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--shots", type=Path, default=None, help="folder for the screenshots")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_service(work, port)
        try:
            minutes = wait_for_market(url, args.day_minutes, deadline_s=1800)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                load_ms, latency = measure(browser, url, args.loads, args.seconds)
                shots = screenshots(browser, url, args.shots, work) if args.shots else []
                browser.close()
            started = time.perf_counter()
            trips = len(httpx.get(url + "/trades/round-trips?limit=1000", timeout=120).json())
            trips_s = time.perf_counter() - started
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    sys.stdout.write(
        f"dashboard after {minutes} market minutes at --speed 600 ({trips} round trips in the"
        f" newest 1,000-row page of GET /trades/round-trips, read in {trips_s:.2f} s)\n"
        f"load (navigation to ready, {len(load_ms)} loads): p50 {percentile(load_ms, 50):.0f} ms,"
        f" max {max(load_ms):.0f} ms\n"
    )
    if latency:
        sys.stdout.write(
            f"/ws fill to updated trades table ({len(latency)} fills over {args.seconds:.0f} s):"
            f" p50 {percentile(latency, 50):.1f} ms, p99 {percentile(latency, 99):.1f} ms,"
            f" mean {statistics.fmean(latency):.1f} ms\n"
        )
    else:
        sys.stdout.write("no fill arrived while measuring\n")
    for path in shots:
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
