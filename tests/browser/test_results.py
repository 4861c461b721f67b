"""The results card in Chromium against the real service, at 1440 px and 390 px: the round
trips (paged, exported as CSV), realized P&L per day / week / month and per-symbol figures,
each cell the server's value (checked against GET /trades/round-trips, /performance/periods
and /performance), with no console error and no sideways scroll."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.browser.support import (
    BROWSER_TESTS,
    SIZES,
    TOAST_TEXTS,
    TOKEN,
    Service,
    open_page,
    open_ready,
    shot,
    wait_ready,
)

pytestmark = BROWSER_TESTS
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def round_trips(service: Service, count: int) -> None:
    """`count` quick round trips of A and B in turn: a market BUY, then Close at market."""
    for i in range(count):
        variant = "AB"[i % 2]
        body = {"symbol": "ETHUSDT", "side": "BUY", "quantity": "0.01", "variant": variant}
        r = httpx.post(service.url + "/orders", json=body, headers=AUTH, timeout=10)
        assert r.status_code == 200, r.text
        r = httpx.post(f"{service.url}/positions/{variant}/ETHUSDT/close", headers=AUTH, timeout=10)
        assert r.status_code in (200, 409), r.text  # 409: the strategy sold it first


def all_trips(service: Service) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "/trades/round-trips?limit=1000" + (f"&cursor={cursor}" if cursor else "")
        response = httpx.get(service.url + query, timeout=10)
        rows = response.json() + rows
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return rows


@pytest.mark.parametrize("width", [1440, 390])
def test_round_trips_page_and_export_the_servers_rows(
    browser: Any, service: Service, width: int
) -> None:
    if len(all_trips(service)) < 27:
        round_trips(service, 27)  # more than a page (25)
    page = open_page(browser, service, width, 900, accept_downloads=True)
    page.goto(service.url + "/")
    wait_ready(page)
    page.locator("#results").scroll_into_view_if_needed()
    page.wait_for_selector("#results[data-trips='25']")
    # The strategy trades meanwhile (the card re-reads after fills): compare the page's newest
    # row with the server's newest read at the same moment.
    for _ in range(20):
        newest = httpx.get(service.url + "/trades/round-trips?limit=25", timeout=10).json()[::-1]
        cells = page.locator("#trips-table tbody tr").first.locator("td").all_inner_texts()
        first = newest[0]
        if (
            cells[11] == first["exit_reason"]
            and cells[8].replace("+", "")
            == format(Decimal(first["pnl"]).quantize(Decimal("0.01")), "f")
            and (cells[0], cells[1]) == (first["variant"], first["symbol"])
        ):
            break
        page.wait_for_timeout(500)
    assert cells[0] == first["variant"] and cells[1] == first["symbol"]
    assert Decimal(cells[8].replace("+", "")) == Decimal(first["pnl"]).quantize(Decimal("0.01"))
    assert cells[11] == first["exit_reason"]
    page.click("#trips-older")
    page.wait_for_function("() => document.getElementById('trips-page').textContent === 'page 2'")
    assert page.is_enabled("#trips-newer")
    before = all_trips(service)
    with page.expect_download() as info:
        page.click("#trips-csv")
    text = info.value.path().read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    after = all_trips(service)  # the strategy may close more meanwhile: they come last
    assert 27 <= len(before) <= len(rows) <= len(after)
    assert [(r["exit_order_id"], r["pnl"]) for r in rows] == [
        (t["exit_order_id"], t["pnl"]) for t in after[: len(rows)]
    ]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    shot(page, f"results-trips-{width}.png")


@pytest.mark.parametrize("width", [1440, 390])
def test_pnl_per_period_and_per_symbol_are_the_servers(
    browser: Any, service: Service, width: int
) -> None:
    if not all_trips(service):
        round_trips(service, 2)
    page = open_page(browser, service, width, 900)
    page.goto(service.url + "/")
    wait_ready(page)
    page.locator("#results").scroll_into_view_if_needed()
    for period in ("day", "week", "month"):
        page.click("#results-tabs [data-tab='periods']")
        page.select_option("#periods-kind", period)
        doc = httpx.get(f"{service.url}/performance/periods?period={period}", timeout=10).json()
        newest = max(r["start_ms"] for r in doc["periods"])
        for row in (r for r in doc["periods"] if r["start_ms"] == newest):
            cell = page.locator(f"[data-testid='period-{row['label']}-{row['variant']}']")
            page.wait_for_function(
                "([sel, v]) => { const el = document.querySelector(sel);"
                " return el && Number(el.textContent.replace('+', '')) === v; }",
                arg=[
                    f"[data-testid='period-{row['label']}-{row['variant']}']",
                    float(Decimal(row["realized_pnl"]).quantize(Decimal("0.01"))),
                ],
                timeout=10_000,
            )  # fills meanwhile change it; it settles on the server's figure
            assert cell.count() == 1
    page.click("#results-tabs [data-tab='symbols']")
    perf = httpx.get(service.url + "/performance", timeout=10).json()
    expected = sum(len(v["symbols"]) for v in perf["variants"])
    page.wait_for_selector(f"#results[data-symbols='{expected}']")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    shot(page, f"results-periods-{width}.png")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_log_view_shows_the_services_warnings_as_they_happen(
    browser: Any, service: Service, width: int, height: int
) -> None:
    page = open_ready(browser, service, width, height)
    page.wait_for_selector("#logs[data-lines]")
    reason = f"log view at {width} px"  # this run's line, not an earlier one
    r = httpx.post(service.url + "/variants/B/pause", json={"reason": reason}, headers=AUTH,
                   timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    try:
        line = page.locator("#log-lines li", has_text=reason)
        line.first.wait_for(timeout=10_000)
        assert "WARNING" in line.first.inner_text()
        assert TOKEN not in page.inner_text("#logs")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    finally:
        httpx.post(service.url + "/variants/B/resume", json={}, headers=AUTH, timeout=10)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_toasts_are_the_notifications_events_in_their_words(
    browser: Any, service: Service, width: int, height: int
) -> None:
    page = open_page(browser, service, width, height)
    notices: list[dict[str, Any]] = []

    def watch(ws: Any) -> None:
        def frame(payload: Any) -> None:
            message = json.loads(payload)
            if message.get("type") == "notice":
                notices.append(message["data"])

        ws.on("framereceived", frame)

    page.on("websocket", watch)
    page.add_init_script(f"document.addEventListener('DOMContentLoaded', {TOAST_TEXTS})")
    page.goto(service.url + "/")
    wait_ready(page)
    r = httpx.post(
        service.url + "/variants/B/pause", json={"reason": "toast check"}, headers=AUTH, timeout=10
    )
    assert r.status_code == 200, r.text
    try:
        page.wait_for_selector(".toast:has-text('variant B pause')")
        said = [n for n in notices if n["type"] == "variant" and n["data"]["variant"] == "B"]
        assert said and said[-1]["id"].startswith("variant-")  # the outbox's event id
        assert said[-1]["text"] == "variant B pause: toast check"  # Telegram's words
        # One toast for it, counted as toasts are added: on a phone (2 toasts at most) a fill
        # toast may already have pushed it out by now.
        shown = page.evaluate("window.toastTexts")
        assert sum(said[-1]["text"] in text for text in shown) == 1, shown
    finally:
        httpx.post(service.url + "/variants/B/resume", json={}, headers=AUTH, timeout=10)
