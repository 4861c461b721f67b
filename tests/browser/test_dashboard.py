"""The dashboard in a real headless Chromium against the real service (`main.py --simulate`).

One service subprocess for the module, started with an API_TOKEN so that the token prompt, the
authenticated WebSocket and the authenticated Close button are exercised too. Screenshots go to
artifacts/ (git-ignored). Skipped only when Debian's /usr/bin/chromium is absent (CI installs it).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.support import (
    BROWSER_TESTS,
    ROOT,
    SIZES,
    TOAST_TEXTS,
    TOKEN,
    buy_through_form,
    expect_problems,
    open_page,
    shot,
    wait_ready,
)

pytestmark = BROWSER_TESTS


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_wrong_token_is_told_as_refused_and_forgotten(browser, service, width, height):
    page = open_page(browser, service, width, height, token=False)
    page.add_init_script("sessionStorage.setItem('apiToken', 'not-the-token')")
    page.add_init_script(f"document.addEventListener('DOMContentLoaded', {TOAST_TEXTS})")
    page.goto(service.url + "/")
    page.wait_for_selector("#token-dialog[open][data-refused='1']")
    assert "refused this token" in page.inner_text("#token-dialog p")
    assert page.evaluate("sessionStorage.getItem('apiToken')") is None
    assert page.locator("#conn").get_attribute("data-state") != "open"
    page.fill("#token-input", TOKEN)
    page.click("#token-dialog button[value='ok']")
    wait_ready(page)
    assert page.evaluate("sessionStorage.getItem('apiToken')") == TOKEN
    # Nothing said the refused connection was live.
    assert not any("restored" in t for t in page.evaluate("window.toastTexts")), page.evaluate(
        "window.toastTexts"
    )


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_token_prompt_then_live_page_without_errors(browser, service, width, height):
    page = open_page(browser, service, width, height, token=False)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("websocket", lambda ws: requested.append(ws.url))
    page.goto(service.url + "/")
    # The WebSocket is refused without the token (1008): the page asks for it once.
    page.wait_for_selector("#token-dialog[open]")
    page.fill("#token-input", TOKEN)
    page.click("#token-dialog button[value='ok']")
    wait_ready(page)
    assert page.evaluate("sessionStorage.getItem('apiToken')") == TOKEN
    assert page.locator("#feed-status").get_attribute("data-status") == "live"
    assert page.locator("#mode").text_content() == "simulated"
    assert page.locator("[data-testid='price-BTCUSDT'] .kpi-value").inner_text() != "—"
    assert page.locator("#chart canvas").count() > 0
    page.wait_for_timeout(1500)  # let a few live updates arrive
    # Offline-ready: the chart library is the local copy; nothing leaves the machine.
    assert any(u.endswith("/vendor/lightweight-charts.standalone.production.js") for u in requested)
    ws_url = service.url.replace("http://", "ws://")
    assert all(u.startswith((service.url, ws_url)) for u in requested), requested


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_chart_shows_candles_and_a_new_closed_candle_within_3_s(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    last = page.evaluate("window.dashboard.candles[window.dashboard.selected].at(-1).time")
    rest = service.get("/candles/BTCUSDT?limit=5")["candles"]
    assert rest, "the service has closed candles"
    started = time.monotonic()
    page.wait_for_function(
        """(t0) => {
            const s = window.dashboard;
            const c = s.candles[s.selected].at(-1);
            return c.time > t0 && s.chart.candles.data().some((b) => b.time === c.time / 1000);
        }""",
        arg=last,
        timeout=3000,
    )
    assert time.monotonic() - started < 3.0
    bars = page.evaluate("window.dashboard.chart.candles.data().length")
    assert bars >= len(rest)
    # The page's closed candles are the service's (same open time, same close).
    newest = service.get("/candles/BTCUSDT?limit=3")["candles"]
    page_candles = page.evaluate("window.dashboard.candles.BTCUSDT.slice(-50)")
    by_time = {c["time"]: c for c in page_candles}
    common = [c for c in newest if c["open_time"] in by_time]
    assert common
    for c in common:
        assert by_time[c["open_time"]]["close"] == float(c["close"])
    # The 5m view is built from the 1m candles by the page: a 5m bar whose five minutes are
    # all in the service's history equals their aggregate.
    page.click("#view-tabs button[data-view='5m']")
    page.wait_for_function("() => window.dashboard.view === '5m'")
    bars = page.evaluate("window.dashboard.chart.candles.data()")
    assert bars and all(b["time"] % 300 == 0 for b in bars)
    one_minute = service.get("/candles/BTCUSDT?limit=60")["candles"]
    buckets: dict[int, list[dict[str, Any]]] = {}
    for c in one_minute:
        buckets.setdefault(c["open_time"] // 300_000 * 300, []).append(c)
    full = {t: cs for t, cs in buckets.items() if len(cs) == 5}
    checked = 0
    for bar in bars:
        group = full.get(bar["time"])
        if group is None:
            continue
        assert bar["open"] == float(group[0]["open"])
        assert bar["close"] == float(group[-1]["close"])
        assert bar["high"] == max(float(c["high"]) for c in group)
        assert bar["low"] == min(float(c["low"]) for c in group)
        checked += 1
    assert checked >= 5
    assert page.evaluate("window.dashboard.chart.lines.length") == 2  # EMA and SMA
    page.click("#view-tabs button[data-view='1m']")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_variant_cards_signals_trades_and_close_button(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    assert "15%" in page.locator("[data-testid='stop-A']").inner_text()
    assert "10%" in page.locator("[data-testid='stop-B']").inner_text()
    assert page.locator("#variant-A [data-testid='signal-A-BTCUSDT']").inner_text() in {
        "BUY",
        "SELL",
        "HOLD",
    }

    # The strategy's signals fill their table (crossovers of the simulated prices).
    page.wait_for_selector("#signals-table tbody tr", timeout=40_000)
    page.select_option("#f-variant", "B")
    # The table re-renders on the next frame, and new signals may arrive meanwhile: wait until
    # the filtered state shows (every row B, rows added later included), then read it.
    page.wait_for_function(ONLY_VARIANT_ROWS, arg="B", timeout=10_000)
    variants = page.locator("#signals-table tbody tr td:nth-child(2)").all_inner_texts()
    assert variants and all(v.strip() == "B" for v in variants)
    page.select_option("#f-variant", "")

    # A manual BUY through the form, then Close on its row. The strategy trades A too (a
    # crossover may sell it first, and the close then gets 409): try again, at most 3 times.
    closed: dict[str, Any] = {}
    for _attempt in range(3):
        order = buy_through_form(page, "A", "BTCUSDT")
        assert order["status"] == "filled" and order["side"] == "BUY"
        page.wait_for_selector("#trades-table tbody tr")
        button = page.locator("#positions-table tbody tr[data-key='A/BTCUSDT'] button.close-btn")
        try:
            with page.expect_response(
                lambda r: r.url.endswith("/A/BTCUSDT/close"), timeout=5000
            ) as close_info:
                button.click(timeout=3000)
        except PlaywrightTimeout:  # the strategy sold it before the click: the row went away
            continue
        if close_info.value.status == 409:  # the expected refusal, not a page problem
            expect_problems(page, "/A/BTCUSDT/close")
            continue
        closed = close_info.value.json()
        assert close_info.value.status == 200, closed
        break
    assert closed, "the strategy sold A's position before every Close click (3 tries)"
    assert closed["status"] == "filled" and closed["side"] == "SELL"
    assert closed["reason"] == "manual"
    # Checked through REST and the journal: the close is a journaled fill of the whole position.
    ids = {line.get("client_order_id"): line for line in service.journal_lines()}
    journaled = ids.get(closed["client_order_id"])
    assert journaled is not None and journaled["type"] == "filled"
    assert journaled["side"] == "SELL" and journaled["reason"] == "manual"
    trades = service.get("/trades?variant=A&symbol=BTCUSDT&limit=50")
    assert closed["client_order_id"] in {t["client_order_id"] for t in trades}
    positions = service.get("/positions")
    a_btc = next(p for p in positions if p["variant"] == "A" and p["symbol"] == "BTCUSDT")
    if not a_btc["is_open"]:  # unless the strategy bought again since
        page.wait_for_selector("#positions-table tbody tr[data-key='A/BTCUSDT']", state="detached")
    page.wait_for_selector(".toast.fill:has-text('A sold')")  # the close's fill, announced live
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "dashboard-1440.png")


ONLY_VARIANT_ROWS = """(variant) => {
    const cells = [...document.querySelectorAll("#signals-table tbody tr td:nth-child(2)")];
    return cells.length > 0 && cells.every((c) => c.textContent.trim() === variant);
}"""


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_5m_chart_follows_its_interval_on_the_websocket(browser, service, width, height):
    """The 5m view subscribes to 5m on /ws: REST gives its history once, then a closing 5m
    candle and the 5m bar in progress come as `candle` / `candle_update` events and are drawn
    as they are (no REST re-read); another view unsubscribes 5m."""
    page = open_page(browser, service, width, height)
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def on_socket(ws: Any) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", on_socket)
    reads: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if "interval=5m" in r.url else None)
    page.goto(service.url + "/")
    wait_ready(page)
    page.click("#view-tabs button[data-view='1m']")  # the saved view may be another
    page.click("#view-tabs button[data-view='5m']")
    page.wait_for_function(
        "() => (window.dashboard.serverBars['BTCUSDT/5m'] ?? []).length > 0"
        " && window.dashboard.viewFeed.streams('5m')"
    )
    assert {"op": "subscribe", "intervals": ["5m"]} in sent
    last_read = page.evaluate("window.dashboard.serverBars['BTCUSDT/5m'].at(-1).time")
    assert len(reads) == 1  # the history, once

    # A 5m candle closes (a market minute a second: within ~5 s) and is drawn from the event.
    page.wait_for_function(
        "(t0) => window.dashboard.serverBars['BTCUSDT/5m'].at(-1).time > t0",
        arg=last_read,
        timeout=20_000,
    )
    closed = [
        m["data"]
        for m in received
        if m["type"] == "candle" and m["data"].get("interval") == "5m"
        and m["data"]["symbol"] == "BTCUSDT"
    ]  # fmt: skip
    assert closed and closed[-1]["open_time"] > last_read
    event = closed[-1]
    bar = page.evaluate(
        "(t) => window.dashboard.chart.candles.data().find((b) => b.time === t)",
        event["open_time"] // 1000,
    )
    assert bar is not None
    assert (bar["open"], bar["high"], bar["low"], bar["close"]) == tuple(
        float(event[k]) for k in ("open", "high", "low", "close")
    )
    # The next minute closes too; still no second REST read of the 5m candles.
    minute = page.evaluate("window.dashboard.candles.BTCUSDT.at(-1).time")
    page.wait_for_function(
        "(t0) => window.dashboard.candles.BTCUSDT.at(-1).time > t0", arg=minute, timeout=5000
    )
    assert len(reads) == 1, reads
    # The bar in progress is the service's 5m candle_update, as sent.
    page.wait_for_function(
        """() => {
            const s = window.dashboard;
            const open = s.viewFeed.open['BTCUSDT/5m'];
            const last = s.chart.candles.data().at(-1);
            return open && last.time === open.time / 1000 && last.close === open.close
                && last.high === open.high && last.low === open.low;
        }""",
        timeout=5000,
    )
    updates = [
        m["data"]
        for m in received
        if m["type"] == "candle_update" and m["data"].get("interval") == "5m"
    ]
    assert updates and all(u["closed"] is False for u in updates)

    page.click("#view-tabs button[data-view='15m']")
    page.wait_for_function("() => window.dashboard.viewFeed.streams('15m')")
    assert sent[-2:] == [
        {"op": "unsubscribe", "intervals": ["5m"]},
        {"op": "subscribe", "intervals": ["15m"]},
    ]
    assert not page.evaluate("window.dashboard.viewFeed.streams('5m')")
    page.click("#view-tabs button[data-view='1m']")
    page.wait_for_function("() => !window.dashboard.viewFeed.streams('15m')")
    assert sent[-1] == {"op": "unsubscribe", "intervals": ["15m"]}


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_websocket_drop_shows_banner_and_recovers(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    reloads: list[str] = []
    page.on("request", lambda r: reloads.append(r.url) if r.url.endswith("/positions") else None)
    before = page.evaluate("window.dashboard.candles.BTCUSDT.at(-1).time")
    page.evaluate("window.dashboard.live.drop()")
    page.wait_for_selector("#banner", state="visible", timeout=2000)
    assert page.locator("#conn").get_attribute("data-state") == "closed"
    page.wait_for_selector("#banner", state="hidden", timeout=10_000)
    page.wait_for_selector("#conn[data-state='open']")
    page.wait_for_selector(".toast:has-text('restored')")
    assert reloads, "the snapshot was re-read after the reconnect"
    # Live data flows again on the new socket.
    page.wait_for_function(
        "(t0) => window.dashboard.candles.BTCUSDT.at(-1).time > t0", arg=before, timeout=5000
    )


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_chart_library_falls_back_to_the_cdn_when_no_local_copy(browser, service, width, height):
    page = open_page(browser, service, width, height)
    local = ROOT / "api" / "static" / "vendor" / "lightweight-charts.standalone.production.js"
    cdn_hits: list[str] = []

    def from_cdn(route: Any) -> None:  # no internet here: the CDN answers with the same file
        cdn_hits.append(route.request.url)
        route.fulfill(status=200, body=local.read_bytes(), content_type="text/javascript")

    page.route("**/static/vendor/**", lambda route: route.fulfill(status=404, body="missing"))
    page.route("https://unpkg.com/**", from_cdn)
    page.goto(service.url + "/")
    wait_ready(page)
    assert cdn_hits == [
        "https://unpkg.com/lightweight-charts@5.2.1/dist/lightweight-charts.standalone.production.js"
    ]
    expect_problems(page, "/static/vendor/")  # the missing local copy, as this test asks


def test_mobile_390_has_no_horizontal_overflow(browser, service):
    page = open_page(browser, service, 390, 844)
    page.goto(service.url + "/")
    wait_ready(page)
    page.wait_for_timeout(500)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "dashboard-390.png", full_page=True)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_page_shows_the_servers_money_figures_and_adds_up_none(browser, service, width, height):
    """The KPI card's P&L and return, and each open position's P&L, are the server's figures
    (execution.accounts, through /performance and /positions over /ws) as sent, only rounded
    for people: the page computes no money figure of its own."""
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    # The cells follow the newest report within a frame; wait until they show it.
    page.wait_for_function(
        """() => {
            const t = window.dashboard.performance?.total;
            if (!t) return false;
            const n = Number(t.pnl);
            const text = (n > 0 ? "+" : "") + n.toLocaleString("en-US",
                {minimumFractionDigits: 2, maximumFractionDigits: 2});
            return document.querySelector('#pnl-total').textContent.startsWith(text + " ");
        }""",
        timeout=15_000,
    )
    got = page.evaluate(
        """() => {
            const d = window.dashboard;
            return {
                total: d.performance.total,
                shown: document.querySelector('#pnl-total').textContent,
                pct: document.querySelector('#pnl-pct').textContent,
                realized: document.querySelector('#pnl-realized').textContent,
                unrealized: document.querySelector('#pnl-unrealized').textContent,
            };
        }"""
    )
    total = got["total"]

    def signed(text: str) -> str:
        value = float(text)
        return f"{'+' if value > 0 else ''}{value:,.2f}"

    assert got["shown"].split(" ")[0] == signed(total["pnl"])
    assert got["pct"] == f"{signed(total['return_pct'])} % of capital"
    assert got["realized"] == signed(total["realized_pnl"])
    assert got["unrealized"] == signed(total["unrealized_pnl"])
    # The server's total is its own: realized + unrealized of every variant, at its marks.
    perf = service.get("/performance")
    assert set(perf["total"]) >= {"equity", "pnl", "return_pct", "max_drawdown_pct"}


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_indicator_lines_are_the_servers_values(browser, service, width, height):
    """The chart's lines are GET /strategy/indicators as sent: the strategy's own values, the
    page computes none (the same at every time both have; candles close meanwhile)."""
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    page.wait_for_function("() => window.dashboard.chart.lines.length >= 2")
    drawn = page.evaluate(
        """() => Object.fromEntries(window.dashboard.chart.lines.map((l) =>
            [l.label, l.series.data().map((p) => [p.time * 1000, p.value])]))"""
    )
    symbol = page.evaluate("() => window.dashboard.selected")
    assert set(drawn) >= {"A ema", "A sma"}
    served = service.get(f"/strategy/indicators?symbol={symbol}&variant=A&limit=5000")
    assert served["price_lines"] == ["ema", "sma"] and served["pane_lines"] == []
    for name in ("ema", "sma"):
        want = {p["time_ms"]: p["values"][name] for p in served["points"]}
        common = [t for t, _ in drawn[f"A {name}"] if t in want]
        assert len(common) > 20
        assert {t: v for t, v in drawn[f"A {name}"] if t in want} == {t: want[t] for t in common}
        assert all(want[t] is not None for t in common)
