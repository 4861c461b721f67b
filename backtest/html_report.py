"""`main.py backtest --html FILE`: one self-contained page, readable on a phone.

A summary table on top (rounded for people), then per symbol: the close price (down-sampled to
at most ~1,600 min/max points so a year stays light) with each variant's entries (▲) and exits
(▼, black for a stop-loss) grouped per time bucket with their count, and the variants' equity
as a percentage of their capital, A solid and B dashed so that identical curves both show.
Interactive charts in the dashboard's library (backtest/chart_page.py): zoom, pan, hover.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from backtest.chart_page import CSS, Line, bucket_ms, chart, line_style, scripts, trade_markers
from backtest.metrics import PriceSeries, RoundTrip, equity_curve

MAX_POINTS = 800  # buckets; each gives its min and max

STYLE = "th:nth-child(2),td:nth-child(2){text-align:left}"


def _downsample(times: Sequence[int], values: Sequence[float]) -> list[tuple[int, float]]:
    n = len(values)
    if n <= 2 * MAX_POINTS:
        return list(zip(times, values, strict=True))
    out: list[tuple[int, float]] = []
    step = n / MAX_POINTS
    for b in range(MAX_POINTS):
        lo, hi = int(b * step), min(n, int((b + 1) * step))
        chunk = range(lo, hi)
        i_min = min(chunk, key=values.__getitem__)
        i_max = max(chunk, key=values.__getitem__)
        for i in sorted({i_min, i_max}):
            out.append((times[i], values[i]))
    return out


def price_digits(price: float) -> int:
    """Decimals that show a price's moves: 2 from 1 up, more below (ETHBTC 0.04612)."""
    if price <= 0 or price >= 1:
        return 2
    return min(8, 2 - math.floor(math.log10(price)) + 1)


def money(value: object) -> str:
    """A money figure for people: 2 decimals from 1 up, 8 significant below (fees in BTC)."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return html.escape(str(value))
    if not amount.is_finite():
        return "n/a"
    if amount == 0 or abs(amount) >= 1:
        return f"{amount:,.2f}"
    return f"{amount:.8f}".rstrip("0")


def _events(trades: Sequence[RoundTrip], variant: str) -> list[tuple[int, str, str]]:
    out: list[tuple[int, str, str]] = []
    for t in trades:
        out.append((t.entry_time, "entry", variant))
        out.append((t.exit_time, "stop" if t.exit_reason == "stop_loss" else "exit", variant))
    return out


def _symbol_charts(
    index: int,
    symbol: str,
    prices: PriceSeries,
    by_variant: dict[str, list[RoundTrip]],
    capital: float,
) -> str:
    if not prices.closes:
        return f"<h2>{html.escape(symbol)}</h2><p>no candles</p>"
    times, closes = prices.close_times, prices.closes
    span = bucket_ms(prices.first_open_time, times[-1])
    markers: list[dict[str, Any]] = []
    curves: list[Line] = []
    for n, (variant, trades) in enumerate(by_variant.items()):
        color, dashed, width = line_style(n)
        markers += trade_markers(_events(trades, variant), span, color)
        _, curve = equity_curve(trades, prices, capital)
        pct = [(e / capital - 1.0) * 100.0 for e in curve]
        curves.append(Line(variant, _downsample(times, pct), color, dashed, width))
    markers.sort(key=lambda m: (m["time"], m["text"]))
    price = Line(f"{symbol} close", _downsample(times, closes), "#555", width=1, markers=markers)
    return (
        f"<h2>{html.escape(symbol)}</h2>"
        + chart(f"price-{index}", [price], digits=price_digits(closes[-1]), height=360)
        + '<p class="note">▲ entries, ▼ exits (black: stop-loss), per variant, grouped per '
        f"{span // 60_000} min with their count.</p>"
        + "<h3>Equity, % of capital</h3>"
        + chart(f"equity-{index}", curves, percent=True, height=260)
    )


def _table(summaries: dict[str, dict[str, dict[str, Any]]]) -> str:
    head = (
        "<tr><th>variant</th><th>symbol</th><th>trades</th><th>win rate</th><th>P&amp;L</th>"
        "<th>total return</th><th>annualised</th><th>max drawdown</th><th>Sharpe</th>"
        "<th>exposure</th><th>fees</th></tr>"
    )
    rows = []
    for variant, per_symbol in summaries.items():
        for symbol, s in per_symbol.items():
            rows.append(
                f"<tr><td>{html.escape(variant)}</td><td>{html.escape(symbol)}</td>"
                f"<td>{s['trades']}</td><td>{s['win_rate']:.1%}</td><td>{money(s['pnl'])}</td>"
                f"<td>{s['total_return']:.2%}</td><td>{_pct(s['annualised_return'])}</td>"
                f"<td>{s['max_drawdown']:.2%}</td><td>{s['sharpe']:.2f}</td>"
                f"<td>{s['exposure']:.1%}</td><td>{money(s['fees_paid'])}</td></tr>"
            )
    return f'<div class="scroll"><table>{head}{"".join(rows)}</table></div>'


def render_html(
    title: str,
    prices: dict[str, PriceSeries],
    trades: dict[str, dict[str, list[RoundTrip]]],
    summaries: dict[str, dict[str, dict[str, Any]]],
    capital: float,
) -> str:
    """The whole report. `trades[variant][symbol]`, `summaries[variant][symbol]`."""
    sections = []
    for index, (symbol, series) in enumerate(prices.items()):
        by_variant = {v: per.get(symbol, []) for v, per in trades.items()}
        sections.append(_symbol_charts(index, symbol, series, by_variant, capital))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{_table(summaries)}{''.join(sections)}"
        f"{scripts()}</body></html>\n"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
