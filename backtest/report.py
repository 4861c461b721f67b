"""The backtest's report: JSON for machines, a table for the terminal, HTML for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backtest.html_report import render_html
from backtest.metrics import summarize
from backtest.run import BacktestResult


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
        "capital": str(result.capital),
        "candles": result.candles,
        "ticks": result.ticks,
        "signals": len(result.signals),
        "start_ms": result.start_ms,
        "end_ms": result.end_ms,
        "parameters": parameters,
        "portfolio": portfolio,
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
    rows = [head]
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
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    intro = (
        f"backtest: {report['candles']} candles, {report['ticks']} ticks, "
        f"{report['signals']} signals, fee {report['fee_rate']} per side\n"
    )
    return intro + "\n".join(lines) + "\n"


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
