"""The A/B panel in Chromium: both variants' figures and equity curves, pause / resume / close all
from the page (checked through REST and the journal), a -12 % shock that fires B's 10 % stop and
not A's 15 % one, the phone layout, and the screenshots of docs/dashboard.md.

The service runs against a standalone simulator (`python -m simulator`, `--simulate-url`) so
that the test can shock its market (`POST /sim/shock`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    ROOT,
    SIZES,
    TOAST_TEXTS,
    TOKEN,
    Service,
    expect_problems,
    free_port,
    open_page,
    open_ready,
    settle,
    shot,
    wait_ready,
)
from tests.ledgers import beside

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLEAR_TOASTS = (
    "for (const id of ['toasts', 'toast-dock']) document.getElementById(id).replaceChildren()"
)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{url}: the process exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone simulator at speed 60; yields its base URL."""
    tmp = tmp_path_factory.mktemp("ab-sim")
    port = free_port()
    log = tmp / "simulator.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "simulator", "--port", str(port), "--speed", "60",
             "--seed", "5", "--log-level", "WARNING"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/api/v3/ping", proc, log)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def service(market: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("ab-service")
    port = free_port()
    env = {
        **os.environ,
        "JOURNAL_PATH": str(tmp / "trades.jsonl"),
        "DATABASE_URL": beside(tmp / "trades.jsonl"),
        "API_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    log = tmp / "service.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "main.py", "--simulate-url", market, "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    svc = Service(f"http://127.0.0.1:{port}", tmp / "trades.jsonl", proc, log)
    try:
        _wait_http(svc.url + "/health", proc, log)
        deadline = time.monotonic() + 30
        while svc.get("/health")["status"] != "ok" and time.monotonic() < deadline:
            time.sleep(0.2)
        yield svc
    finally:
        _stop(proc)


def post(service: Service, path: str, body: Any = None) -> httpx.Response:
    return httpx.post(service.url + path, json=body, headers=AUTH, timeout=10)


def buy(service: Service, variant: str, symbol: str = "BTCUSDT", qty: str = "0.001") -> None:
    body = {"symbol": symbol, "side": "BUY", "quantity": qty, "variant": variant}
    r = post(service, "/orders", body)
    assert r.status_code == 200, r.text


def is_open(service: Service, variant: str, symbol: str = "BTCUSDT") -> bool:
    rows = service.get("/positions")
    return any(p["variant"] == variant and p["symbol"] == symbol and p["is_open"] for p in rows)


def wait_until(check: Any, timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def cell(page: Any, label: str, variant: str) -> str:
    text: str = page.locator(f"[data-testid='ab-{label}-{variant}']").inner_text()
    return text


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("%", "").replace("+", "").strip())


@pytest.fixture(params=SIZES, ids=lambda size: f"{size[0]}px")
def page(browser: Any, service: Service, request: pytest.FixtureRequest) -> Iterator[Any]:
    width, height = request.param
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    page.wait_for_selector("#ab-panel[data-curves='2']")
    yield page


def test_the_panel_shows_both_variants_money_and_performance(page: Any, service: Service) -> None:
    heads = page.locator(".ab-head")
    assert heads.count() == 2
    assert page.locator("#ab-table thead th").all_inner_texts()[1:] == ["A", "B"]
    strategy = service.get("/strategy")
    for v in strategy["variants"]:
        name = v["name"]
        assert number(cell(page, "Capital", name)) == Decimal(v["money"]["capital"])
        assert (
            page.locator(f"[data-testid='state-{name}']").get_attribute("data-state") == v["state"]
        )
    perf = {v["variant"]: v["totals"] for v in service.get("/performance")["variants"]}
    page.wait_for_function(
        "n => document.querySelector(\"[data-testid='ab-Round trips-A']\").textContent === n",
        arg=str(perf["A"]["round_trips"]),
        timeout=10_000,
    )
    assert page.locator("#equity-chart canvas").count() > 0  # both curves on one chart


def test_pause_and_resume_from_the_page(page: Any, service: Service) -> None:
    page.click("[data-testid='pause-A']")
    page.wait_for_selector("[data-testid='state-A'][data-state='paused']")
    assert "paused by a person" in page.locator("[data-testid='reason-A']").inner_text()
    a = next(v for v in service.get("/strategy")["variants"] if v["name"] == "A")
    assert a["paused"] and a["state"] == "paused"
    body = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "variant": "A"}
    refused = post(service, "/orders", body)
    assert refused.status_code == 400 and "A is paused" in refused.json()["detail"]
    page.click("[data-testid='resume-A']")
    page.wait_for_selector("[data-testid='state-A'][data-state='active']")
    assert not next(v for v in service.get("/strategy")["variants"] if v["name"] == "A")["paused"]
    actions = [x["action"] for x in service.journal_lines() if x.get("type") == "control"]
    assert actions[-2:] == ["pause", "resume"]


def test_close_all_asks_first_then_sells_every_position(page: Any, service: Service) -> None:
    buy(service, "A", "BTCUSDT")
    buy(service, "A", "ETHUSDT", "0.01")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/close-all") else None)
    answers = iter([False, True])  # dismissed first: nothing is sent
    page.on("dialog", lambda d: d.accept() if next(answers) else d.dismiss())
    page.click("[data-testid='close-all-A']")
    page.wait_for_timeout(300)
    assert sent == []
    with page.expect_response(lambda r: r.url.endswith("/variants/A/close-all")) as info:
        page.click("[data-testid='close-all-A']")
    assert info.value.status == 200
    closed = info.value.json()["closed"]
    # The strategy may have sold one of them meanwhile (a crossover); the rest were sold here.
    assert closed and set(closed) <= {"BTCUSDT", "ETHUSDT"}
    still_open = [s for s in ("BTCUSDT", "ETHUSDT") if is_open(service, "A", s)]
    lines = service.journal_lines()  # read after: a fill is journaled before it is applied
    fills = [
        (n, x) for n, x in enumerate(lines) if x.get("type") == "filled" and x["variant"] == "A"
    ]
    sells = [(n, x) for n, x in fills if x["side"] == "SELL" and x["reason"] == "manual"]
    assert {x["symbol"] for _, x in sells[-len(closed) :]} == set(closed)
    # A is not paused: its strategy may buy again right after (an order of its own that was
    # in flight during the close, or a new crossover). Anything open now is such a buy.
    last_sell = sells[-1][0]
    for symbol in still_open:
        assert any(
            n > last_sell and x["symbol"] == symbol and x["side"] == "BUY"
            and x["reason"] != "manual"
            for n, x in fills
        ), f"{symbol} is open after Close all, and no strategy buy came after it"  # fmt: skip


def test_close_all_of_a_paused_variant_says_so_and_the_button_works_again(
    page: Any, service: Service
) -> None:
    page.click("[data-testid='pause-B']")
    page.wait_for_selector("[data-testid='resume-B']")
    try:
        page.evaluate(CLEAR_TOASTS)
        page.evaluate(TOAST_TEXTS)  # every toast from now on, even one a newer pushed out
        asked: list[str] = []

        def answer(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.accept()

        page.on("dialog", answer)
        for _ in range(2):  # twice: the button is enabled again after the first, no other redraw
            with page.expect_response(lambda r: r.url.endswith("/variants/B/close-all")) as info:
                page.click("[data-testid='close-all-B']")
            assert info.value.status == 200
            page.wait_for_selector("[data-testid='close-all-B']:not([disabled])", timeout=5000)
        assert len(asked) == 2 and all("stays paused" in m for m in asked), asked
        assert not any("not paused" in m for m in asked)
        # A phone keeps two toasts: a fill toast may push this one out before it is looked at.
        page.wait_for_function(
            "(text) => window.toastTexts.some((t) => t.includes(text))",
            arg="Variant B: nothing was open to close",
        )
        assert not any("closed nothing" in t for t in page.evaluate("window.toastTexts"))
    finally:  # the next tests need B trading
        page.click("[data-testid='resume-B']")
        page.wait_for_selector("[data-testid='pause-B']")


@pytest.mark.parametrize("page", [SIZES[0]], indirect=True, ids=["1440px"])  # and a phone below
def test_a_shock_fires_bs_stop_not_as_and_the_panel_shows_it(
    page: Any, service: Service, market: str
) -> None:
    stops_before = {
        v["variant"]: v["totals"]["stops_hit"] for v in service.get("/performance")["variants"]
    }
    buy(service, "A")
    buy(service, "B")
    shock = httpx.post(market + "/sim/shock", json={"symbol": "BTCUSDT", "percent": "-12"})
    assert shock.status_code == 200, shock.text
    wait_until(lambda: not is_open(service, "B"), what="B's stop-loss exit")
    perf = {v["variant"]: v["totals"] for v in service.get("/performance")["variants"]}
    assert perf["B"]["stops_hit"] == stops_before["B"] + 1
    assert perf["A"]["stops_hit"] == stops_before["A"]
    page.wait_for_function(
        "n => document.querySelector(\"[data-testid='ab-Stops hit-B']\").textContent === n",
        arg=str(perf["B"]["stops_hit"]),
    )
    assert cell(page, "Stops hit", "A") == str(perf["A"]["stops_hit"])
    page.wait_for_timeout(2500)  # the curves' next refresh (every 2 s at most)
    page.evaluate(CLEAR_TOASTS)  # the docs' screenshots show the page, not the last fills
    shot(page, "dashboard.png")
    phone = open_page(page.context.browser, service, *SIZES[1])
    phone.goto(service.url + "/")
    wait_ready(phone)
    phone.wait_for_selector("#ab-panel[data-curves='2']")
    phone.wait_for_timeout(1500)
    phone.evaluate(CLEAR_TOASTS)
    shot(phone, "dashboard-390.png", full_page=True)


def test_the_panel_on_a_phone(browser: Any, service: Service) -> None:
    page = open_page(browser, service, *SIZES[1])
    page.goto(service.url + "/")
    wait_ready(page)
    page.wait_for_selector("#ab-panel[data-curves='2']")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width} px"
    for name in ("A", "B"):
        for control in (f"pause-{name}", f"close-all-{name}"):
            box = page.locator(f"[data-testid='{control}']").bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, control
    table = page.locator("#ab-table").bounding_box()
    assert table is not None and table["width"] <= 390
    page.locator("[data-testid='pause-B']").tap()
    page.wait_for_selector("[data-testid='state-B'][data-state='paused']")
    page.locator("[data-testid='resume-B']").tap()
    page.wait_for_selector("[data-testid='state-B'][data-state='active']")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_equity_chart_shows_the_whole_run_and_tells_a_from_b(
    browser: Any, service: Service, width: int, height: int
) -> None:
    # More marks than a phone-wide chart shows at the library's default bar spacing (~50).
    wait_until(
        lambda: len(service.get("/performance/equity?variant=A&limit=10000")["points"]) >= 75,
        timeout=120,
        what="75 equity marks of A",
    )
    page = open_ready(browser, service, width, height)
    page.wait_for_selector("#ab-panel[data-curves='2']")
    page.locator("#equity-chart").scroll_into_view_if_needed()
    shown = page.evaluate(EQUITY_SHOWN)
    assert shown["points"] >= 60, shown  # one row per second: marks of a second are one
    assert shown["looks"] == [[0, 3], [2, 2]], shown  # A solid and wide, B dashed
    page.wait_for_function(f"() => ({EQUITY_SHOWN})().all")  # the whole run
    # New marks come: "All" stays the whole run.
    page.wait_for_function(f"() => ({EQUITY_SHOWN})().points > {shown['points']}", timeout=60_000)
    page.wait_for_function(f"() => ({EQUITY_SHOWN})().all")
    page.click("#equity-range button[data-range='6h']")
    assert pressed(page) == ["6h"]
    # A tap on the chart moves nothing and keeps the range; a drag is the user's own range:
    # no button pressed; "All" pins it again.
    box = page.locator("#equity-chart").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    settle(page)
    assert pressed(page) == ["6h"]
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "() => !document.querySelector(\"#equity-range button[aria-pressed='true']\")"
    )
    page.click("#equity-range button[data-range='all']")
    assert pressed(page) == ["all"]
    page.wait_for_function(f"() => ({EQUITY_SHOWN})().all")


EQUITY_SHOWN = """() => { const e = window.dashboard.ab.equity;
    const a = e.series.A; const range = e.chart.timeScale().getVisibleLogicalRange();
    const points = a.data().length;
    return { from: range.from, to: range.to, points,
             all: range.from <= 0.5 && range.to >= points - 1.5,
             looks: ["A", "B"].map((n) => [e.series[n].options().lineStyle,
                                           e.series[n].options().lineWidth]) }; }"""


def pressed(page: Any) -> list[str]:
    """The equity range buttons pressed."""
    found: list[str] = page.eval_on_selector_all(
        "#equity-range button[aria-pressed='true']", "bs => bs.map((b) => b.dataset.range)"
    )
    return found


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_edit_a_variant_from_the_page_with_the_services_errors_at_the_field(
    browser: Any, service: Service, width: int, height: int
) -> None:
    page = open_ready(browser, service, width, height)
    before = next(v for v in service.get("/variants") if v["name"] == "A")
    params = list(before["parameters"])
    page.click("[data-testid='edit-A']")
    page.wait_for_selector("#variant-editor[open]")
    # A value the strategy refuses: the service's reason at that field, nothing changed.
    page.fill(f"#variant-editor input[name='{params[0]}']", "0")
    with page.expect_response(lambda r: r.request.method == "PATCH") as info:
        page.click("#variant-editor [data-act='save']")
    assert info.value.status == 422
    error = page.locator(f"#variant-editor .field-error[data-for='{params[0]}']")
    error.wait_for()
    assert error.inner_text() != ""
    assert (
        page.get_attribute(f"#variant-editor input[name='{params[0]}']", "aria-invalid") == "true"
    )
    assert next(v for v in service.get("/variants") if v["name"] == "A") == before
    # A stop-loss out of range: at the stop-loss field.
    page.fill(f"#variant-editor input[name='{params[0]}']", str(before["parameters"][params[0]]))
    page.fill("#variant-editor input[name='stop_loss_pct']", "150")
    with page.expect_response(lambda r: r.request.method == "PATCH") as info:
        page.click("#variant-editor [data-act='save']")
    assert info.value.status == 422
    page.locator("#variant-editor .field-error[data-for='stop_loss']").wait_for()
    # A good change: saved, journaled, shown.
    page.fill("#variant-editor input[name='stop_loss_pct']", "12.5")
    with page.expect_response(lambda r: r.request.method == "PATCH") as info:
        page.click("#variant-editor [data-act='save']")
    assert info.value.status == 200, info.value.text()
    assert info.value.request.post_data_json == {"stop_loss": "0.125"}
    page.wait_for_selector("#variant-editor", state="hidden")
    after = next(v for v in service.get("/variants") if v["name"] == "A")
    assert after["stop_loss"] == "0.125" and after["parameters"] == before["parameters"]
    page.wait_for_function(
        "() => document.querySelector(\"[data-variant='A'] .ab-stop\").textContent"
        " === 'stop 12.5 %'"
    )
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    controls = [x for x in service.journal_lines() if x.get("type") == "control"]
    assert any(x.get("variant") == "A" and "0.125" in str(x) for x in controls), controls[-3:]
    r = httpx.patch(
        service.url + "/variants/A", json={"stop_loss": "0.15"}, headers=AUTH, timeout=10
    )
    assert r.status_code == 200, r.text
    # The two refusals above were asked for (the browser logs each 422); nothing else failed.
    expect_problems(page, "422")
