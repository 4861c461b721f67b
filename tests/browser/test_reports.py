"""The backtest and optimisation HTML reports in Chromium, at 1440 px and on a 390 px phone:
interactive charts drawn by the inlined chart library (nothing fetched), a hover readout,
entries and exits grouped per bucket with a count, A and B told apart, no sideways scroll, no
console error, figures rounded for people.

The reports come from `main.py backtest` and `main.py optimize` on 500 real testnet klines.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import (
    ARTIFACTS,
    ROOT,
    watched,
)
from tests.conftest import BINANCE_DATA

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
KLINES = BINANCE_DATA / "testnet-btcusdt-2026-06-15" / "klines_1m.json"  # 500 real candles
VARIANTS = "A:0.15:ema_sma(3,10),B:0.002:ema_sma(3,10)"  # B's tight stop fires, A's does not


def _main(cwd: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("VARIANTS", "DATABASE_URL")}
    env["VARIANTS"] = VARIANTS
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    _main(tmp, "backtest", "--data", str(KLINES), "--html", str(tmp / "backtest.html"))
    _main(
        tmp, "optimize", "--data", str(KLINES), "--symbol", "BTCUSDT",
        "--param", "ema_period=3,5", "--param", "sma_period=10", "--param", "stop_loss=0.15",
        "--workers", "1", "--html", str(tmp / "optimize.html"),
    )  # fmt: skip
    return {"backtest": tmp / "backtest.html", "optimize": tmp / "optimize.html"}


def _open(browser: Any, path: Path, width: int) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, is_mobile=width < 500, has_touch=width < 500
    )
    page = context.new_page()
    watched(page, width)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-charts='drawn']", timeout=15_000)
    assert [u for u in requests if not u.startswith("file://")] == []  # nothing fetched
    return page


def _hover_readout(page: Any, chart_id: str) -> str:
    box = page.locator(f"#{chart_id}").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    page.wait_for_function(
        "id => document.querySelector(`.lwc-readout[data-for='${id}']`).textContent !== ''",
        arg=chart_id,
    )
    text: str = page.inner_text(f".lwc-readout[data-for='{chart_id}']")
    return text


@pytest.mark.parametrize("width", [1440, 390])
def test_the_backtest_report_is_interactive_and_readable(
    browser: Any, reports: dict[str, Path], width: int
) -> None:
    page = _open(browser, reports["backtest"], width)
    assert page.locator("#price-0 canvas").count() > 0
    assert page.get_attribute("#equity-0", "data-drawn") == "2"  # A and B
    # A solid, B dashed: told apart even where their curves coincide.
    data = page.evaluate(
        "JSON.parse(document.querySelector(\"script[data-chart='equity-0']\").textContent)"
    )
    assert [(x["name"], x["dashed"]) for x in data["lines"]] == [("A", False), ("B", True)]
    price = page.evaluate(
        "JSON.parse(document.querySelector(\"script[data-chart='price-0']\").textContent)"
    )
    markers = price["lines"][0]["markers"]
    # One marker per (bucket, variant, kind): tests/backtest/test_chart_page.py has the groups.
    kinds = {(m["time"], m["text"][0], m["shape"], m["color"]) for m in markers}
    assert markers and len(kinds) == len(markers)
    assert {m["text"][0] for m in markers} == {"A", "B"}
    readout = _hover_readout(page, "equity-0")
    assert "UTC" in readout and re.search(r"A -?\d+\.\d\d %", readout), readout
    width_used = page.evaluate("document.scrollingElement.scrollWidth")
    assert width_used <= width, f"the page scrolls sideways: {width_used} px"
    text = page.inner_text("table")
    assert not re.search(r"\d\.\d{3,}", text), text
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"backtest-report-{width}.png"), full_page=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_the_optimisation_report_is_interactive_and_readable(
    browser: Any, reports: dict[str, Path], width: int
) -> None:
    page = _open(browser, reports["optimize"], width)
    drawn = page.get_attribute("#equity", "data-drawn")
    assert drawn is not None and int(drawn) >= 2  # the best and the live variants
    readout = _hover_readout(page, "equity")
    assert "best: trial" in readout and "live A" in readout, readout
    width_used = page.evaluate("document.scrollingElement.scrollWidth")
    assert width_used <= width, f"the page scrolls sideways: {width_used} px"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"optimize-report-{width}.png"), full_page=True)
