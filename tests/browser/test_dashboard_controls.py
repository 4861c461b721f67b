"""The dashboard's controls in Chromium against the real service: toasts that never cover a
control, phone cards, the UTC/local switch, the hover readout, the reconnect countdown, symbols
added and removed from the page, and settings kept in localStorage.

Rectangles are measured by the browser; the checks below are written independently of the
page's own placement code (which they test).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser.support import (
    BROWSER_TESTS,
    COVERED,
    SIZES,
    TOKEN,
    buy_through_form,
    expect_problems,
    open_page,
    settle,
    shot,
    wait_ready,
)

pytestmark = BROWSER_TESTS


def reject_through_form(page: Any) -> str:
    """A manual order the risk checks refuse (far over the position limit); the form's error."""
    page.select_option("#order-symbol", "BTCUSDT")
    page.select_option("#order-side", "BUY")
    page.fill("#order-qty", "99999")
    page.select_option("#order-variant", "B")
    with page.expect_response(lambda r: r.url.endswith("/orders")) as info:
        page.click("#order-submit")
    assert info.value.status == 400, info.value.text()
    page.wait_for_selector("#order-error:not(:empty)")
    text: str = page.inner_text("#order-error")
    return text


@pytest.mark.parametrize(("width", "height", "cap"), [(1440, 900, 3), (390, 844, 2)])
def test_toasts_never_cover_controls_and_a_rejection_raises_one(
    browser, service, width, height, cap
):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)

    # A refused order: the REST reply and the /ws `order` event both report it; one toast.
    error = reject_through_form(page)
    assert "max position" in error
    page.wait_for_timeout(1500)  # the /ws event has long arrived by now
    rejected = page.locator("#toasts .toast", has_text="max position")
    assert rejected.count() == 1

    # Three quick fills share one toast.
    for variant in ("A", "B", "A"):
        buy_through_form(page, variant, "BTCUSDT")
    page.wait_for_selector("#toasts .toast.fill", state="attached")
    page.wait_for_function(
        """() => [...document.querySelectorAll('#toasts .toast.fill')]
                 .some((t) => /^\\d+ fills: /.test(t.textContent))"""
    )
    assert page.locator("#toasts .toast").count() <= cap

    # At the top, at the order form, at the positions table and at the bottom, with a full
    # stack of toasts, no toast covers a control.
    places = ["top", "#order-submit", "#positions-table", "#signals-table", "bottom"]
    for place in places:
        if place == "top":
            page.evaluate("window.scrollTo(0, 0)")
        elif place == "bottom":
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        else:
            page.locator(place).scroll_into_view_if_needed()
        for i in range(cap):
            page.evaluate(
                "(i) => window.dashboard.toast(`Filled: test toast ${i} with a longer text "
                "that wraps onto a second line`, 'fill')",
                i,
            )
        settle(page)
        found = page.evaluate(COVERED)
        assert found["toasts"] >= 1 and found["controls"] >= 1, (place, found)
        assert found["covered"] == [], (place, found)
        assert page.locator("#toasts .toast").count() <= cap
    if width == 1440:
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, "dashboard-toasts-1440.png")
    # The refused order's 400 (the response and the console's note of it) is expected.
    expect_problems(page, "HTTP 400: ", "status of 400")


# Each fill toast's life in page time: [added, removed or null, fills it held].
WATCH_FILL_TOASTS = """() => {
    window.fillToasts = [];
    new MutationObserver((records) => {
        for (const r of records) {
            for (const n of r.addedNodes) {
                if (n.classList?.contains("fill")) {
                    n.life = [performance.now(), null, 0];
                    window.fillToasts.push(n.life);
                }
            }
            for (const n of r.removedNodes) if (n.life) {
                n.life[1] = performance.now();
                n.life[2] = (n.fills ?? []).length;
            }
        }
    }).observe(document.getElementById("toasts"), { childList: true });
}"""


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_steady_fills_never_keep_a_toast_up(
    browser: Any, service: Any, width: int, height: int
) -> None:
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    page.evaluate(WATCH_FILL_TOASTS)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    started = page.evaluate("performance.now()")
    for i in range(14):  # a fill every ~0.7 s for ~10 s: steadier than any strategy trades
        variant = "AB"[i % 2]
        body = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.0002", "variant": variant}
        r = httpx.post(service.url + "/orders", json=body, headers=auth, timeout=10)
        assert r.status_code == 200, r.text
        page.wait_for_timeout(700)
    page.wait_for_timeout(1000)
    lives = page.evaluate("window.fillToasts.map((l) => [...l])")
    now = page.evaluate("performance.now()")
    assert lives, "no fill raised a toast"
    # Every fill toast goes within its 4.5 s (plus a frame), however many fills followed.
    for added, removed, _ in lives:
        assert (removed if removed is not None else now) - added <= 4800, lives
    assert lives[0][0] - started < 2000  # the first fill did raise one, at once
    assert len(lives) <= 2, lives  # then a quiet spell: not one toast after another


def test_phone_tables_are_cards_and_close_is_reachable(browser, service):
    page = open_page(browser, service, 390, 844)
    page.goto(service.url + "/")
    wait_ready(page)
    buy_through_form(page, "B", "BTCUSDT")
    row = page.locator("#positions-table tbody tr[data-key='B/BTCUSDT']")
    row.wait_for()
    # A card: no header row, each cell labelled by its column.
    assert not page.locator("#positions-table thead").is_visible()
    labels = row.locator("td").evaluate_all("(tds) => tds.map((td) => td.dataset.label)")
    assert labels[:4] == ["Variant", "Symbol", "Qty", "Entry"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    button = row.locator("button.close-btn")
    button.scroll_into_view_if_needed()
    settle(page)
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # Nothing lies over it: the element at its centre is the button itself.
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('button.close-btn') !== null",
        [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
    )
    assert hit
    with page.expect_response(lambda r: r.url.endswith("/B/BTCUSDT/close")) as info:
        button.click()
    # 409: the strategy sold the position first; either way the click reached the service.
    assert info.value.status in (200, 409), info.value.text()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "dashboard-390-top.png")


def readout_time(page: Any) -> tuple[int, str]:
    """The readout's bar time (s) and its time label, read together (a new bar may come)."""
    shown, text = page.evaluate(
        """() => { const r = document.getElementById('chart-readout');
                   return [Number(r.dataset.time), r.querySelector('.ro-time').textContent]; }"""
    )
    return int(shown), str(text)


def minute_text(ms: int, zone: Any) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=zone).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_utc_local_switch_and_settings_survive_a_reload(browser, service, width, height):
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: no hour of it is an hour of UTC
    page = open_page(browser, service, width, height, timezone_id="Asia/Kolkata")
    page.goto(service.url + "/")
    wait_ready(page)
    assert page.inner_text("#tz-btn") == "UTC"
    assert page.locator("#trades-table thead th").first.inner_text() == "Time (UTC)"
    page.wait_for_selector("#chart-readout:not([hidden])")
    shown, text = readout_time(page)
    assert text == f"{minute_text(shown * 1000, UTC)} UTC"

    page.click("#tz-btn")
    assert page.inner_text("#tz-btn") == "local"
    assert page.locator("#signals-table thead th").first.inner_text() == "Time (local)"
    page.wait_for_function(
        "() => document.querySelector('#chart-readout .ro-time').textContent.endsWith('local')"
    )
    shown, text = readout_time(page)
    assert text == f"{minute_text(shown * 1000, kolkata)} local"
    # A signal row's time, in local time: the newest signal of the table is the page's last.
    page.wait_for_selector("#signals-table tbody tr", timeout=40_000)
    pairs = []
    for _ in range(3):  # a signal arriving between the read and the next redraw: read again
        settle(page)
        newest, row_time = page.evaluate(
            """() => [window.dashboard.signals.at(-1).time_ms,
                      document.querySelector('#signals-table tbody tr td').textContent]"""
        )
        local = datetime.fromtimestamp(newest / 1000, tz=kolkata).strftime("%m-%d %H:%M:%S")
        pairs.append((row_time, local))
        if row_time == local:
            break
    assert pairs[-1][0] == pairs[-1][1], pairs

    # Other choices, then a reload: all kept (localStorage), the token too (sessionStorage).
    page.click("#view-tabs button[data-view='5m']")
    page.click("#symbol-tabs button[data-symbol='ETHUSDT']")
    page.select_option("#f-variant", "B")
    page.reload()
    wait_ready(page)
    assert page.inner_text("#tz-btn") == "local"
    assert page.evaluate("window.dashboard.view") == "5m"
    assert page.evaluate("window.dashboard.selected") == "ETHUSDT"
    assert page.input_value("#f-variant") == "B"
    assert page.locator("#view-tabs button.active").inner_text() == "5m"
    page.evaluate("localStorage.clear()")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_hover_readout_shows_ohlc_volume_averages_and_fills(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    order = buy_through_form(page, "B", "BTCUSDT")
    fill_ms = order["time_ms"]
    fills = [
        t
        for t in page.evaluate("window.dashboard.trades")
        if t.get("client_order_id") == order["client_order_id"]
    ]
    if not fills:  # the `trade` event has not arrived yet
        page.wait_for_function(
            "(id) => window.dashboard.trades.some((t) => t.client_order_id === id)",
            arg=order["client_order_id"],
        )
        fills = [
            t
            for t in page.evaluate("window.dashboard.trades")
            if t.get("client_order_id") == order["client_order_id"]
        ]
    fill = fills[0]
    fill_ms = fill.get("fill_time_ms") or fill_ms
    bar_s = fill_ms // 60_000 * 60
    page.wait_for_function(
        "(t) => window.dashboard.chart.candles.data().some((b) => b.time === t)", arg=bar_s
    )
    # The server's indicator lines reach a bar once it has closed (none on the live bar).
    page.wait_for_function(
        "(t) => window.dashboard.chart.lines.length > 0 && window.dashboard.chart.lines.every("
        "(l) => l.series.data().some((p) => p.time === t))",
        arg=bar_s,
    )
    # A long-running service has many bars, each a pixel or two wide: widen them so the mouse
    # lands on the fill's bar, and aim again if a new bar shifted the time scale meanwhile.
    page.evaluate("window.dashboard.chart.api.timeScale().applyOptions({barSpacing: 24})")
    page.locator("#chart").scroll_into_view_if_needed()  # the pointer can reach it on a phone
    chart = page.locator("#chart").bounding_box()
    assert chart is not None
    for _ in range(5):
        x = page.evaluate(
            "(t) => window.dashboard.chart.api.timeScale().timeToCoordinate(t)", bar_s
        )
        assert x is not None
        page.mouse.move(chart["x"] + x, chart["y"] + chart["height"] * 0.4)
        page.wait_for_timeout(200)
        # The order's answer re-reads the snapshot and the lines: aim again until they are in.
        shown = page.evaluate(
            "() => { const r = document.getElementById('chart-readout');"
            " return [r.dataset.time, r.textContent]; }"
        )
        if shown[0] == str(bar_s) and "A ema " in shown[1] and "A sma " in shown[1]:
            break
        page.mouse.move(chart["x"] + 1, chart["y"] + 1)  # off the bar: the next move is news
    # The readout and the bar read together: a chart redrawn meanwhile (a new bar, the
    # order's re-read) shows the newest bar, or the bar as it was, until the pointer moves.
    for _ in range(5):
        page.wait_for_function(
            "(t) => { const r = document.getElementById('chart-readout');"
            " return r.dataset.hovered === '1' && r.dataset.time === String(t); }",
            arg=bar_s,
        )
        snap = page.evaluate(
            "(t) => { const r = document.getElementById('chart-readout');"
            " return {hovered: r.dataset.hovered, time: r.dataset.time, text: r.innerText,"
            " bar: window.dashboard.chart.candles.data().find((b) => b.time === t)}; }",
            bar_s,
        )
        current = snap["bar"] is not None and f"O {snap['bar']['open']:,.2f}" in snap["text"]
        if snap["hovered"] == "1" and snap["time"] == str(bar_s) and current:
            break  # (a bar re-read after the readout was drawn is shown at the next move)
        x = page.evaluate(
            "(t) => window.dashboard.chart.api.timeScale().timeToCoordinate(t)", bar_s
        )
        page.mouse.move(chart["x"] + 1, chart["y"] + 1)
        page.mouse.move(chart["x"] + x, chart["y"] + chart["height"] * 0.4)
    text, bar = snap["text"], snap["bar"]
    for key in ("open", "high", "low", "close"):
        assert f"{key[0].upper()} {bar[key]:,.2f}" in text, (key, text)
    assert re.search(r"V \d[\d,]*\.\d{4}", text), text
    assert "A ema " in text and "A sma " in text  # the server's lines (GET /strategy/indicators)
    price = float(fill["price"])
    in_bar = [
        t
        for t in page.evaluate("window.dashboard.trades")
        if t["symbol"] == "BTCUSDT" and (t.get("fill_time_ms") or 0) // 60_000 * 60 == bar_s
    ]
    if len(in_bar) <= 2:  # each fill on its own line
        assert f"▲ B BUY {float(fill['executed_qty']):g} @ {price:,.2f}" in text, text
    else:  # a busy bar (the strategy traded too): one line per variant and side, counted
        b_buys = sum(1 for t in in_bar if t["variant"] == "B" and t["side"] == "BUY")
        one = f"▲ B BUY {float(fill['executed_qty']):g} @ {price:,.2f}"
        assert (f"▲ B BUY ×{b_buys}" if b_buys > 1 else one) in text, text


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_reconnect_banner_counts_down(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    # As after five failed attempts: the next one waits 500 ms × 1.6^5 ≈ 5.2 s (±20 %).
    page.evaluate("window.dashboard.live.drop(5)")
    page.wait_for_selector("#banner", state="visible")
    pattern = re.compile(r"^reconnecting in (\d+\.\d) s…$")
    first = pattern.match(page.inner_text("#banner-text"))
    assert first, page.inner_text("#banner-text")
    page.wait_for_timeout(700)
    second = pattern.match(page.inner_text("#banner-text"))
    assert second, page.inner_text("#banner-text")
    assert float(second.group(1)) <= float(first.group(1)) - 0.5
    page.wait_for_selector("#banner", state="hidden", timeout=10_000)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_remove_and_add_a_symbol_from_the_page(browser, service, width, height):
    # The page removes ETHUSDT, then follows it again.
    page = open_page(browser, service, width, height)
    page.on("dialog", lambda d: d.accept())  # "Stop following …?" (and "close positions?")
    page.goto(service.url + "/")
    wait_ready(page)
    # An unknown symbol: the service's reason, nothing added.
    page.fill("#symbol-input", "NOSUCHCOIN1")
    page.click("#symbol-add")
    page.wait_for_selector("#symbol-error:not(:empty)")
    assert "not listed" in page.inner_text("#symbol-error")
    assert "NOSUCHCOIN1" not in symbols_of(service)
    # The refusals asked for: the 404 above, a 409 when a position is open (then forced).
    expect_problems(page, "/symbols/NOSUCHCOIN1", "HTTP 409: ", "status of 409")

    deletes: list[int] = []
    page.on(
        "response",
        lambda r: deletes.append(r.status) if r.request.method == "DELETE" else None,
    )
    page.click("#symbol-tabs button[data-remove='ETHUSDT']")
    page.wait_for_selector("#symbol-tabs button[data-symbol='ETHUSDT']", state="detached")
    # 200, or 409 (a position was open) and then 200 with force after the second confirmation.
    assert deletes[-1] == 200 and set(deletes) <= {200, 409}, deletes
    assert "ETHUSDT" not in symbols_of(service)
    assert "ETHUSDT" not in page.locator("#order-symbol option").all_inner_texts()

    page.fill("#symbol-input", "ethusdt")
    with page.expect_request(lambda r: r.url.endswith("/symbols/ETHUSDT")) as request:
        page.click("#symbol-add")
    assert request.value.method == "POST"
    assert request.value.headers["content-type"] == "application/json"
    page.wait_for_selector("#symbol-tabs button[data-symbol='ETHUSDT'].active")
    assert "ETHUSDT" in symbols_of(service)
    assert "ETHUSDT" in page.locator("#order-symbol option").all_inner_texts()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_known_symbol_is_added_under_simulate_and_is_never_shown_stale(
    browser, service, width, height
):
    page = open_page(browser, service, width, height)
    page.on("dialog", lambda d: d.accept())
    page.goto(service.url + "/")
    wait_ready(page)
    page.evaluate(
        """() => { const el = document.getElementById("feed-status");
        window.feedSeen = [el.dataset.status];
        new MutationObserver(() => window.feedSeen.push(el.dataset.status))
            .observe(el, { attributes: true }); }"""
    )
    page.fill("#symbol-input", "BNBUSDT")
    page.click("#symbol-add")
    page.wait_for_selector("#symbol-tabs button[data-symbol='BNBUSDT'].active")
    assert page.inner_text("#symbol-error") == ""
    page.wait_for_function(
        "() => window.dashboard.chart.candles && window.dashboard.chart.candles.data().length > 0"
    )
    health = service.get("/health")
    page.wait_for_timeout(3000)
    seen = page.evaluate("window.feedSeen")
    assert "stale" not in seen, seen
    assert page.get_attribute("#feed-status", "data-status") == "live", seen
    assert health["symbols"]["BNBUSDT"]["status"] in ("starting", "live"), health
    page.click("#symbol-tabs button[data-remove='BNBUSDT']")
    page.wait_for_selector("#symbol-tabs button[data-symbol='BNBUSDT']", state="detached")
    # A 409 is the service asking to close a position the strategy opened meanwhile (then
    # the page confirms and forces); nothing else may fail.
    expect_problems(page, "HTTP 409: ", "status of 409")


def symbols_of(service: Any) -> set[str]:
    return {s["symbol"] for s in service.get("/symbols")["symbols"]}


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_settings_hold_no_token(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    page.click("#tz-btn")
    stored = page.evaluate("JSON.stringify(localStorage)")
    assert "dashboard.settings" in stored
    assert "dashboard-test-token" not in stored  # the token stays in this tab's sessionStorage
    page.evaluate("localStorage.clear()")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_interval_selector_reads_the_services_candles(browser, service, width, height):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    for view, minutes in (("15m", 15), ("1h", 60)):
        with page.expect_response(
            lambda r, v=view: f"/candles/BTCUSDT?interval={v}" in r.url
        ) as info:
            page.click(f"#view-tabs button[data-view='{view}']")
        assert info.value.status == 200
        page.wait_for_function(
            "(m) => { const d = window.dashboard.chart.candles.data();"
            " return d.length > 1 && d.every((b) => b.time % (m * 60) === 0); }",
            arg=minutes,
        )
        served = service.get(f"/candles/BTCUSDT?interval={view}&limit=1000")["candles"]
        by_time = {c["open_time"] // 1000: c for c in served}
        bars = page.evaluate("window.dashboard.chart.candles.data()")
        volumes = {
            v["time"]: v["value"] for v in page.evaluate("window.dashboard.chart.volume.data()")
        }
        # Every bar the service had closed when we asked is drawn with its values (the newest
        # bar is the interval in progress, built by the page from the live 1m candles).
        checked = 0
        for bar in bars[:-1]:
            row = by_time.get(bar["time"])
            if row is None:
                continue
            assert (bar["open"], bar["high"], bar["low"], bar["close"]) == tuple(
                float(row[k]) for k in ("open", "high", "low", "close")
            ), (view, bar, row)
            assert volumes[bar["time"]] == float(row["volume"])
            checked += 1
        assert checked >= 2, (view, len(bars), len(served))


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_1h_view_groups_fills_per_bar_and_the_readout_stays_one_line(
    browser, service, width, height
):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for variant in ("A", "A", "A", "B", "B"):  # five fills inside the current hour
        body = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.0002", "variant": variant}
        r = httpx.post(service.url + "/orders", json=body, headers=auth, timeout=10)
        assert r.status_code == 200, r.text
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    page.click("#view-tabs button[data-view='1h']")
    page.wait_for_function(
        "() => window.dashboard.chart.candles.data().every((b) => b.time % 3600 === 0)"
    )
    markers = page.evaluate("window.dashboard.chart.markers.markers()")
    keys = [(m["time"], m["text"].split(" ")[0], m["shape"]) for m in markers]
    assert len(keys) == len(set(keys)), markers  # one marker per bar, variant and side
    fills = service.get("/trades?symbol=BTCUSDT&limit=1000")
    assert len(markers) < len(fills)
    assert any(re.fullmatch(r"[AB] ×\d+", m["text"]) for m in markers), markers
    # The newest bar's readout (it holds the five fills): one line over the chart on a
    # desktop; on a phone, too narrow for one line, under the chart and over none of its bars.
    page.wait_for_selector("#chart-readout:not([hidden])")
    readout = page.locator("#chart-readout").bounding_box()
    chart = page.locator("#chart").bounding_box()
    assert readout is not None and chart is not None
    line = page.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('chart-readout')).lineHeight) || 18"
    )
    text = page.inner_text("#chart-readout")
    if width > 640:
        assert readout["height"] <= line * 1.6, (readout, line, text)
    else:
        assert readout["y"] >= chart["y"] + chart["height"], (readout, chart, text)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_negative_quantity_is_told_as_not_positive_and_nothing_is_sent(
    browser, service, width, height
):
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/orders") else None)
    page.select_option("#order-symbol", "BTCUSDT")
    page.fill("#order-qty", "-1")
    page.click("#order-submit")
    page.wait_for_selector("#order-error:not(:empty)")
    assert page.inner_text("#order-error") == "quantity must be positive"
    assert sent == []
