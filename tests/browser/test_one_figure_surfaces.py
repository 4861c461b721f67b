"""One figure, one formula, on every surface: the same fills read through REST (`/strategy`,
`/performance`), the /ws snapshot, the dashboard's rendered cells in Chromium and the backtest
report of the same run give identical values, equal to a recomputation from the ledger's own
fills and candle closes with plain Decimal arithmetic.

- The fills: `main.py --simulate --record` until both variants have bought and sold, then
  SIGINT.
- The backtest replays that recording through the live code, holding what is still open at the
  end (`hold_at_end`: valued at the last close, as the live service shows it).
- The live surfaces: the service restarted on the same ledger with its market slowed to a crawl
  (`--speed 0.01`: no minute closes while the surfaces are read, so no figure moves).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from backtest.report import build_report
from backtest.run import BacktestConfig
from backtest.runner import run_backtest
from config import load_settings
from tests.browser.support import ROOT, free_port, open_page, wait_ready
from tests.ledgers import beside, lines_beside
from tests.service.test_one_figure import recompute

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
FIELDS = ("equity", "cash", "realized_pnl", "unrealized_pnl", "fees", "return_pct")
PERF_FIELDS = ("realized_pnl", "unrealized_pnl", "fees", "return_pct", "max_drawdown_pct")
LIVE_LIMIT_S = 25.0
T = TypeVar("T")


@dataclass
class Surfaces:
    lines: list[dict[str, Any]]  # the ledger's entries
    backtest: dict[str, Any]  # the report's portfolio block, per variant
    strategy: dict[str, Any]  # GET /strategy money, per variant
    performance: dict[str, Any]  # GET /performance
    ws: dict[str, Any]  # the /ws snapshot's performance
    page: dict[str, str]  # the A/B table's cells, by data-testid


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """`coro` to its end on a loop of its own (Playwright's sync API holds this thread's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "API_"))}
    return {**env, "LOG_LEVEL": "WARNING"}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _traded(journal: Path) -> bool:
    """Both variants bought and sold, and one of them holds something now."""
    sides: dict[str, list[str]] = {}
    last: dict[tuple[str, str], str] = {}
    for rec in lines_beside(journal):
        if rec.get("type") == "filled":
            sides.setdefault(rec["variant"], []).append(rec["side"])
            last[(rec["variant"], rec["symbol"])] = rec["side"]
    both = all({"BUY", "SELL"} <= set(sides.get(v, [])) for v in ("A", "B"))
    return both and "BUY" in last.values()


def _serve(args: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "main.py", *args, "--port", str(port)],
            cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the service exited:\n{log.read_text()[-3000:]}")
        try:
            health = httpx.get(url + "/health", timeout=1)
            if health.status_code == 200 and "connecting" not in " ".join(health.json()["reasons"]):
                return proc, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"the service was not ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


async def _ws_performance(url: str) -> dict[str, Any]:
    async with connect(url.replace("http", "ws") + "/ws") as ws:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["type"] == "snapshot", frame["type"]
    performance: dict[str, Any] = frame["data"]["performance"]
    return performance


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Surfaces]:
    tmp = tmp_path_factory.mktemp("surfaces")
    journal, recording, log = tmp / "live.jsonl", tmp / "run.rec.gz", tmp / "service.log"
    ledger = ["--journal", str(journal), "--database", beside(journal)]
    live, _ = _serve(["--simulate", "--speed", "240", "--record", str(recording), *ledger], log)
    try:
        deadline = time.monotonic() + LIVE_LIMIT_S
        while not _traded(journal) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        _stop(live)
    assert live.returncode == 0, log.read_text()[-3000:]
    lines = lines_beside(journal)

    settings = load_settings(env_file=None)
    config = BacktestConfig(
        files=[recording], variants=settings.variant_settings,
        fee_rate=settings.paper_fee_rate, capital=settings.variant_capital, hold_at_end=True,
    )  # fmt: skip
    report = build_report(_run(run_backtest(settings, config)))

    again, url = _serve(["--simulate", "--speed", "0.01", *ledger], log)
    try:
        strategy = {v["name"]: v["money"] for v in httpx.get(url + "/strategy").json()["variants"]}
        performance = httpx.get(url + "/performance").json()
        ws = _run(_ws_performance(url))
        page = open_page(browser, None, 1440, 900, token=False)  # type: ignore[arg-type]
        page.goto(url + "/")
        wait_ready(page)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=\"ab-Equity-B\"]')?.textContent"
            " && !document.querySelector('[data-testid=\"ab-Equity-B\"]').textContent.includes('—')"
        )
        cells = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('#ab-table td')]
                .map((td) => [td.dataset.testid, td.textContent]))"""
        )
        page.context.close()
        after = httpx.get(url + "/strategy").json()  # nothing moved while the page was read
        assert {v["name"]: v["money"] for v in after["variants"]} == strategy
    finally:
        _stop(again)
    yield Surfaces(lines, report["portfolio"], strategy, performance, ws, cells)


def _two(value: str, sign: bool = False) -> str:
    """How the page shows a figure: two places, thousands separated, `+` when asked."""
    number = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)  # as toLocaleString
    text = f"{number:,.2f}"
    return f"+{text}" if sign and number > 0 else text


def test_every_surface_shows_the_same_figures_for_the_same_fills(surfaces: Surfaces) -> None:
    s = surfaces
    fills = [x for x in s.lines if x["type"] == "filled"]
    assert {x["variant"] for x in fills} == {"A", "B"}
    perf = {v["variant"]: v for v in s.performance["variants"]}
    ws = {v["variant"]: v for v in s.ws["variants"]}
    for variant in ("A", "B"):
        money, backtest = s.strategy[variant], s.backtest[variant]
        # REST /strategy and the backtest report: the same strings, field by field.
        for field in (*FIELDS, "max_drawdown_pct", "drawdown_pct", "holdings"):
            assert money[field] == backtest[field], (variant, field, money, backtest)
        # /performance and the /ws snapshot: the same report.
        assert perf[variant] == ws[variant]
        assert perf[variant]["equity"] == money["equity"]
        for field in PERF_FIELDS:
            assert perf[variant]["totals"][field] == money[field], (variant, field)
        # The page: the server's figures, rounded for people.
        cell = {k.removeprefix("ab-").removesuffix(f"-{variant}"): v for k, v in s.page.items()
                if k.endswith(f"-{variant}")}  # fmt: skip
        assert cell["Equity"] == _two(money["equity"])
        assert cell["Return"] == f"{_two(money['return_pct'], sign=True)} %"
        assert cell["Max drawdown"] == f"{_two(money['max_drawdown_pct'])} %"
        assert cell["Realized P&L"] == _two(money["realized_pnl"], sign=True)
        assert cell["Unrealized P&L"] == _two(money["unrealized_pnl"], sign=True)
        assert cell["Fees"] == _two(money["fees"])
        # And all of it from the fills and closes alone.
        truth = recompute(s.lines, variant, Decimal(money["capital"]))
        assert Decimal(money["equity"]) == truth["equity"].quantize(Decimal("1e-8"))
        assert Decimal(money["return_pct"]) == truth["return_pct"].quantize(Decimal("0.01"))
        assert Decimal(money["max_drawdown_pct"]) == truth["max_drawdown_pct"].quantize(
            Decimal("0.01")
        )
    assert s.performance["total"] == s.ws["total"]
