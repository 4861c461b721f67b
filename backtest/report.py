"""The backtest's report: JSON for machines, a table for the terminal, HTML for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backtest.fill_model import FillModel
from backtest.html_report import render_html
from backtest.metrics import PriceSeries, combined_curve, equity_curve, summarize, variant_metrics
from backtest.run import BacktestResult
from execution.performance import RoundTrip

ALL = "all"  # the portfolio: every variant together (as the live service names it)


def variant_trips_and_curve(
    result: BacktestResult, name: str
) -> tuple[list[RoundTrip], list[tuple[PriceSeries, list[float]]]]:
    """A variant's round trips over all symbols, and each symbol's per-minute equity curve."""
    capital = float(result.capital)
    trips: list[RoundTrip] = []
    curves: list[tuple[PriceSeries, list[float]]] = []
    for symbol in result.symbols:
        own = result.trades[name].get(symbol, [])
        trips.extend(own)
        prices = result.prices[symbol]
        curves.append((prices, equity_curve(own, prices, capital)[1]))
    return trips, curves


def metrics_by_variant(
    result: BacktestResult,
    curves_out: dict[str, list[float]] | None = None,
    portfolio: bool = True,
) -> dict[str, dict[str, Any]]:
    """{variant: figures over all its symbols, "all": every variant's} (backtest.metrics.
    variant_metrics): the report's "metrics" block, and what the optimiser scores. Each
    variant's per-minute curve is left in `curves_out` when given; `portfolio=False` leaves
    "all" out (an optimiser's variants are separate trials, not one portfolio)."""
    capital = float(result.capital)
    out: dict[str, dict[str, Any]] = {}
    everything: list[RoundTrip] = []
    all_curves: list[tuple[PriceSeries, list[float]]] = []
    for variant in result.variants:
        money = result.money.get(variant.name, {}).get(None)
        if money is None:
            continue
        trips, curves = variant_trips_and_curve(result, variant.name)
        curve = combined_curve(curves, capital, capital) if curves else []
        out[variant.name] = variant_metrics(trips, curve, money, len(curve))
        if curves_out is not None:
            curves_out[variant.name] = curve
        everything.extend(trips)
        all_curves.extend(curves)
    if portfolio and result.total is not None and all_curves and len(out) > 1:
        start = capital * len(out)
        curve = combined_curve(all_curves, capital, start)
        out[ALL] = variant_metrics(everything, curve, result.total, len(curve))
    return out


def build_report(result: BacktestResult) -> dict[str, Any]:
    """{"variants": {A: {SYM: {"trades": [...], "summary": {...}}}}, plus what was run."""
    variants: dict[str, Any] = {}
    portfolio: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for variant in result.variants:
        per_symbol: dict[str, Any] = {}
        for symbol in result.symbols:
            trades = result.trades[variant.name].get(symbol, [])
            per_symbol[symbol] = {
                "trades": [t.to_json() for t in trades],
                "summary": summarize(
                    trades,
                    result.prices[symbol],
                    result.capital,
                    result.money.get(variant.name, {}).get(symbol),
                ),
            }
        variants[variant.name] = per_symbol
        whole = result.money.get(variant.name, {}).get(None)
        if whole is not None:
            portfolio[variant.name] = whole.shown()
        parameters[variant.name] = {
            "stop_loss": str(variant.stop_loss),
            "ema_period": variant.ema_period,
            "sma_period": variant.sma_period,
            "strategy": variant.spec,  # e.g. rsi(period=14,oversold=30.0,overbought=70.0)@5m
        }
    return {
        "data": [str(p) for p in result.files],
        "fee_rate": str(result.fee_rate),
        "fill": result.fill.to_json(),
        "capital": str(result.capital),
        "candles": result.candles,
        "ticks": result.ticks,
        "signals": len(result.signals),
        "start_ms": result.start_ms,
        "end_ms": result.end_ms,
        "parameters": parameters,
        "portfolio": portfolio,
        "metrics": metrics_by_variant(result),
        "variants": variants,
    }


def _summaries(report: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        name: {sym: block["summary"] for sym, block in per_symbol.items()}
        for name, per_symbol in report["variants"].items()
    }


def format_summary(report: dict[str, Any]) -> str:
    """The terminal table: one row per (variant, symbol)."""
    head = (
        "variant", "symbol", "trades", "win rate", "P&L", "return", "annualised",
        "max DD", "Sharpe", "exposure", "fees",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = [head]
    for variant, per_symbol in _summaries(report).items():
        for symbol, s in per_symbol.items():
            rows.append(
                (
                    variant,
                    symbol,
                    str(s["trades"]),
                    f"{s['win_rate']:.1%}",
                    _money(s["pnl"]),
                    f"{s['total_return']:.2%}",
                    _pct(s["annualised_return"]),
                    f"{s['max_drawdown']:.2%}",
                    f"{s['sharpe']:.2f}",
                    f"{s['exposure']:.1%}",
                    _money(s["fees_paid"]),
                )
            )
    intro = (
        f"backtest: {report['candles']} candles, {report['ticks']} ticks, "
        f"{report['signals']} signals, fee {report['fee_rate']} per side, "
        f"{FillModel.from_json(report['fill']).describe()}\n"
    )
    return intro + text_table(rows, left=2) + "\n" + text_table(_variant_rows(report["metrics"]))


def _variant_rows(metrics: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    """Per variant over all its symbols (and "all": the portfolio), the optimiser's figures."""
    rows: list[tuple[str, ...]] = [
        ("variant", "trades", "win rate", "return", "max DD", "Sharpe", "Sortino", "Calmar",
         "profit factor", "expectancy", "fees"),
    ]  # fmt: skip
    for name, m in metrics.items():
        rows.append(
            (
                name,
                str(m["trades"]),
                f"{m['win_rate']:.1%}",
                f"{m['return_pct']}%",
                f"{m['max_drawdown_pct']}%",
                f"{m['sharpe']:.2f}",
                f"{m['sortino']:.2f}",
                _ratio(m["calmar"]),
                _ratio(m["profit_factor"]),
                _money(m["expectancy"]),
                _money(m["fees"]),
            )
        )
    return rows


def text_table(rows: list[tuple[str, ...]], left: int = 1) -> str:
    """Columns padded to their widest cell: the first `left` aligned left, the rest right."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _money(text: str) -> str:
    return f"{float(text):,.4f}"


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


def write_html(result: BacktestResult, report: dict[str, Any], path: Path) -> None:
    trades = {v.name: result.trades[v.name] for v in result.variants}
    title = "Backtest: " + ", ".join(p.name for p in result.files)
    path.write_text(
        render_html(title, result.prices, trades, _summaries(report), float(result.capital)),
        "utf-8",
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"
