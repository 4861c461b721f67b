"""One self-contained HTML file: inline SVG charts, no scripts, no external files.

Per symbol: the close price (down-sampled to at most ~1,600 min/max points so a year stays
light) with every entry (▲) and exit (▼) of each variant, then the variants' equity curves as
a percentage of their capital. A summary table on top.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from backtest.metrics import PriceSeries, RoundTrip, equity_curve

WIDTH, PRICE_H, EQUITY_H, PAD = 1300, 380, 260, 56
MAX_POINTS = 800  # buckets; each gives its min and max
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


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


class _Frame:
    """Maps (time ms, value) to SVG coordinates inside a padded box."""

    def __init__(self, t0: int, t1: int, v0: float, v1: float, height: int) -> None:
        self.t0, self.t1 = t0, max(t1, t0 + 1)
        margin = (v1 - v0) * 0.05 or abs(v1) * 0.01 or 1.0
        self.v0, self.v1 = v0 - margin, v1 + margin
        self.height = height

    def x(self, t: int) -> float:
        return PAD + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - 2 * PAD)

    def y(self, v: float) -> float:
        return 12 + (self.v1 - v) / (self.v1 - self.v0) * (self.height - 40)

    def axes(self, label: str, fmt: str) -> str:
        parts = [
            f'<rect x="{PAD}" y="12" width="{WIDTH - 2 * PAD}" height="{self.height - 40}" '
            'fill="#fcfcfc" stroke="#ccc"/>'
        ]
        for k in range(5):
            v = self.v0 + (self.v1 - self.v0) * k / 4
            y = self.y(v)
            parts.append(
                f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{v:{fmt}}</text>'
            )
        for k in range(5):
            t = self.t0 + (self.t1 - self.t0) * k // 4
            anchor = "start" if k == 0 else "end" if k == 4 else "middle"
            parts.append(
                f'<text x="{self.x(t):.1f}" y="{self.height - 12}" text-anchor="{anchor}">'
                f"{_iso(t)}</text>"
            )
        parts.append(f'<text x="{PAD}" y="10" font-weight="bold">{html.escape(label)}</text>')
        return "".join(parts)


def _polyline(frame: _Frame, points: Sequence[tuple[int, float]], color: str) -> str:
    coords = " ".join(f"{frame.x(t):.1f},{frame.y(v):.1f}" for t, v in points)
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.2" points="{coords}"/>'


def _markers(frame: _Frame, trades: list[RoundTrip], color: str, variant: str) -> str:
    parts: list[str] = []
    for t in trades:
        x, y = frame.x(t.entry_time), frame.y(float(t.entry_price))
        parts.append(
            f'<path d="M{x:.1f},{y + 1:.1f} l-5,9 h10 z" fill="{color}">'
            f"<title>{variant} entry {_iso(t.entry_time)} @ {t.entry_price}</title></path>"
        )
        x, y = frame.x(t.exit_time), frame.y(float(t.exit_price))
        fill = "#000" if t.exit_reason == "stop_loss" else "white"
        parts.append(
            f'<path d="M{x:.1f},{y - 1:.1f} l-5,-9 h10 z" fill="{fill}" stroke="{color}" '
            f'stroke-width="1.5"><title>{variant} exit ({t.exit_reason}) {_iso(t.exit_time)} '
            f"@ {t.exit_price}, P&amp;L {t.pnl}</title></path>"
        )
    return "".join(parts)


def _symbol_charts(
    symbol: str, prices: PriceSeries, by_variant: dict[str, list[RoundTrip]], capital: float
) -> str:
    if not prices.closes:
        return f"<h2>{html.escape(symbol)}</h2><p>no candles</p>"
    times, closes = prices.close_times, prices.closes
    points = _downsample(times, closes)
    frame = _Frame(prices.first_open_time, times[-1], min(closes), max(closes), PRICE_H)
    body = [frame.axes(f"{symbol} close", ",.2f"), _polyline(frame, points, "#555")]
    legend: list[str] = []
    curves: list[tuple[str, str, list[tuple[int, float]]]] = []
    for index, (variant, trades) in enumerate(by_variant.items()):
        color = COLORS[index % len(COLORS)]
        body.append(_markers(frame, trades, color, variant))
        _, curve = equity_curve(trades, prices, capital)
        pct = [(e / capital - 1.0) * 100.0 for e in curve]
        curves.append((variant, color, _downsample(times, pct)))
        legend.append(f'<span style="color:{color}">■ {html.escape(variant)}</span>')
    low = min((v for _, _, pts in curves for _, v in pts), default=0.0)
    high = max((v for _, _, pts in curves for _, v in pts), default=0.0)
    eq = _Frame(prices.first_open_time, times[-1], min(low, 0.0), max(high, 0.0), EQUITY_H)
    eq_body = [eq.axes("equity, % of capital", ".2f")]
    zero = eq.y(0.0)
    eq_body.append(
        f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999"/>'
    )
    eq_body.extend(_polyline(eq, pts, color) for _, color, pts in curves)
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11">{b}</svg>'
    )
    return (
        f"<h2>{html.escape(symbol)}</h2><p>{' '.join(legend)} &nbsp; ▲ entry, ▽ exit on a "
        "signal, ▼ stop-loss or end of data</p>"
        + svg.format(w=WIDTH, h=PRICE_H, b="".join(body))
        + svg.format(w=WIDTH, h=EQUITY_H, b="".join(eq_body))
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
                f"<td>{s['trades']}</td><td>{s['win_rate']:.1%}</td><td>{s['pnl']}</td>"
                f"<td>{s['total_return']:.2%}</td><td>{_pct(s['annualised_return'])}</td>"
                f"<td>{s['max_drawdown']:.2%}</td><td>{s['sharpe']:.2f}</td>"
                f"<td>{s['exposure']:.1%}</td><td>{s['fees_paid']}</td></tr>"
            )
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(
    title: str,
    prices: dict[str, PriceSeries],
    trades: dict[str, dict[str, list[RoundTrip]]],
    summaries: dict[str, dict[str, dict[str, Any]]],
    capital: float,
) -> str:
    """The whole report. `trades[variant][symbol]`, `summaries[variant][symbol]`."""
    sections = []
    for symbol, series in prices.items():
        by_variant = {v: per.get(symbol, []) for v, per in trades.items()}
        sections.append(_symbol_charts(symbol, series, by_variant, capital))
    style = (
        "body{font-family:sans-serif;margin:16px;color:#222}"
        "table{border-collapse:collapse;margin:8px 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "svg{display:block;margin:4px 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"{_table(summaries)}{''.join(sections)}</body></html>"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
