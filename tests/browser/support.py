"""Helpers of the dashboard's browser tests: the service subprocess, pages, problems, orders."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ledgers import lines_beside

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
TOKEN = "dashboard-test-token-4f1c"
SIZES = [(1440, 900), (390, 844)]  # every view and control: a desktop and a phone
BTC_QTY = "0.001"


@dataclass
class Service:
    url: str
    journal: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str) -> Any:
        response = httpx.get(self.url + path, timeout=5)
        response.raise_for_status()
        return response.json()

    def journal_lines(self) -> list[dict[str, Any]]:
        """The service's ledger entries, as their JSON lines."""
        return lines_beside(self.journal)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Problems:
    """Everything that went wrong in a page: console errors, page errors, failed requests."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on(
            "console",
            lambda m: (
                self.items.append(f"console: {m.text} @ {m.location.get('url')}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: self.items.append(f"page error: {e}"))
        # A request the page gave up (a reload or a navigation under way): not a failure; an
        # answer >= 400 is caught below all the same.
        page.on(
            "requestfailed",
            lambda r: (
                self.items.append(f"failed: {r.url} {r.failure}")
                if r.failure != "net::ERR_ABORTED"
                else None
            ),
        )
        page.on(
            "response",
            lambda r: self.items.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None,
        )


@dataclass
class Opened:
    """A page a test opened, checked when the test ends (`check_opened_pages`)."""

    page: Any
    width: int
    problems: Problems
    expected: list[str] = field(default_factory=list)


_OPENED: list[Opened] = []


def watched(page: Any, width: int) -> Problems:
    """Register `page` (its viewport `width`) for the checks every browser test ends with;
    its problems so far."""
    problems = Problems()
    problems.watch(page)
    _OPENED.append(Opened(page, width, problems))
    return problems


def problems_of(page: Any) -> Problems:
    """The problems of a page opened by `open_page` (or registered by `watched`)."""
    return next(opened.problems for opened in _OPENED if opened.page is page)


def expect_problems(page: Any, *fragments: str) -> None:
    """Problems of `page` the test asks for (a refused request, Chromium's line about it):
    those containing one of `fragments` do not fail the end-of-test check."""
    for opened in _OPENED:
        if opened.page is page:
            opened.expected.extend(fragments)


def check_opened_pages() -> list[str]:
    """What is wrong with each page the test opened, as it ended: a console error, a page
    error or a failed request it did not ask for; and, while the page is open, a sideways
    scroll or a toast over a control. The pages are closed."""
    found: list[str] = []
    for opened in _OPENED:
        page, name = opened.page, f"page at {opened.width} px"
        if not page.is_closed():
            used = page.evaluate("document.scrollingElement.scrollWidth")
            if used > opened.width:
                found.append(f"{name} scrolls sideways: {used} px")
            if page.evaluate("() => Boolean(document.getElementById('topbar'))"):
                settle(page)
                covered = page.evaluate(COVERED)["covered"]
                if covered:
                    found.append(f"{name}: {covered}")
            page.context.close()
        found += [
            f"{name}: {item}"
            for item in opened.problems.items
            if not any(fragment in item for fragment in opened.expected)
        ]
    _OPENED.clear()
    return found


def open_page(
    browser: Any, service: Service, width: int, height: int, token: bool = True, **options: Any
) -> Any:
    """A page of the service at `width`, checked when the test ends (`check_opened_pages`)."""
    options.setdefault("is_mobile", width < 500)  # a phone below 500 px
    options.setdefault("has_touch", width < 500)
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    if token:  # as if the token had been entered once in this tab
        context.add_init_script(f"sessionStorage.setItem('apiToken', {json.dumps(TOKEN)})")
    page = context.new_page()
    page.set_default_timeout(15_000)
    watched(page, width)
    return page


def wait_ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_function(
        "() => window.dashboard.chart.candles && window.dashboard.chart.candles.data().length > 0"
    )
    page.wait_for_selector("#conn[data-state='open']")


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full_page)
    return path


def buy_through_form(page: Any, variant: str, symbol: str) -> dict[str, Any]:
    """A manual market BUY through the page's order form; the service's answer."""
    page.select_option("#order-symbol", symbol)
    page.select_option("#order-side", "BUY")
    page.fill("#order-qty", BTC_QTY)
    page.select_option("#order-variant", variant)
    with page.expect_response(lambda r: r.url.endswith("/orders")) as order_info:
        page.click("#order-submit")
    assert order_info.value.status == 200, order_info.value.text()
    result: dict[str, Any] = order_info.value.json()
    return result


NODE = shutil.which("node")


def run_module(module: Path, body: str, data: object = None) -> object:
    """`body` run by node with the page's ES module `module` imported as `M` and `data` bound;
    what it returns, through JSON."""
    script = (
        f"import * as M from {json.dumps(module.as_uri())};\n"
        f"const data = {json.dumps(data)};\n"
        f"process.stdout.write(JSON.stringify((() => {{ {body} }})()));\n"
    )
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def open_ready(browser: Any, service: Service, width: int, height: int) -> Any:
    """A page of the service at `width` (a phone below 500 px), ready, checked when the test
    ends."""
    page = open_page(browser, service, width, height)
    page.goto(service.url + "/")
    wait_ready(page)
    return page


# Every visible toast against every visible control below the sticky header: the overlapping
# pairs (empty when nothing is covered).
# Every toast the page adds, in order (`window.toastTexts`): what was shown, even when a newer
# toast has already pushed it out (a phone keeps 2).
TOAST_TEXTS = """() => {
    window.toastTexts = [];
    new MutationObserver((rs) => rs.forEach((r) => r.addedNodes.forEach(
        (n) => window.toastTexts.push(n.textContent)))
    ).observe(document.getElementById("toasts"), { childList: true });
}"""

COVERED = """() => {
    const shown = (el) => el.getClientRects().length > 0 &&
        el.checkVisibility({ visibilityProperty: true, opacityProperty: true });
    const header = document.getElementById("topbar").getBoundingClientRect().bottom;
    const banner = document.getElementById("banner");
    const top = banner.hidden ? header : Math.max(header, banner.getBoundingClientRect().bottom);
    const inView = (r) => r.width > 0 && r.height > 0 && r.bottom > top && r.top < innerHeight
        && r.right > 0 && r.left < innerWidth;
    const toasts = [...document.querySelectorAll(".toast")].filter(shown)
        .map((t) => [t.textContent.slice(0, 40), t.getBoundingClientRect()]);
    const controls = [...document.querySelectorAll(
        "button, select, input, textarea, a[href], [role='tab']")]
        .filter((c) => !c.closest(".toast") && shown(c))
        .map((c) => [c.id || c.textContent.trim().slice(0, 20) || c.tagName,
                     c.getBoundingClientRect()])
        .filter(([, r]) => inView(r));
    const out = [];
    for (const [tn, t] of toasts) for (const [cn, c] of controls) {
        if (t.left < c.right && c.left < t.right && t.top < c.bottom && c.top < t.bottom) {
            out.push(`${tn} covers ${cn}`);
        }
    }
    return { toasts: toasts.length, controls: controls.length, covered: out };
}"""

SETTLE = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def settle(page: Any) -> None:
    page.evaluate(SETTLE)


# The marks of a module of Chromium tests (the skip never happens in CI: .ci/run installs it).
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
    ),
]
