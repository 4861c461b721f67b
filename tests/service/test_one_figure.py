"""One figure, one formula: equity, P&L, return and drawdown read the same in `/strategy` and
`/performance`, do not move when polled, survive a restart, and equal a recomputation from the
ledger's own fills and candle closes, done here with nothing but Decimal arithmetic.

The real service wiring in paper mode (tests/service/paper_rig.py: a ManualClock, the testnet's
recorded BTCUSDT rules, the test bringing the trades), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from core.clock import ManualClock
from service.container import Service
from tests.ledgers import ledger_lines
from tests.service.paper_rig import T0, Market, recorded_info, started

VARIANTS = "A:0.15:2:3,B:0.10:2:3"
CAPITAL = Decimal(1000)
UP = (59_000, 58_800, 58_600, 58_400, 61_000)  # falls, then crosses up: BUY
DIP = (60_000, 57_500, 58_000)  # an open position loses, then recovers a little
DOWN = (61_500, 61_800, 62_000, 62_200, 60_000)  # rises, then crosses down: SELL
Q8, CENT = Decimal("1e-8"), Decimal("0.01")


async def _read(service: Service) -> dict[str, Any]:
    """GET /strategy, /performance and both equity curves through the app's routes."""
    transport = httpx.ASGITransport(app=create_app(service))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        strategy = (await http.get("/strategy")).json()
        performance = (await http.get("/performance")).json()
        curves = {
            v: (await http.get("/performance/equity", params={"variant": v})).json()["points"]
            for v in ("A", "B")
        }
    money = {v["name"]: v["money"] for v in strategy["variants"]}
    perf = {v["variant"]: v for v in performance["variants"]}
    return {"money": money, "performance": perf, "curves": curves}


def recompute(
    lines: list[dict[str, Any]], variant: str, capital: Decimal = CAPITAL
) -> dict[str, Decimal]:
    """Equity, realized P&L, return and max drawdown of `variant` from the ledger's lines
    alone: cash moves by each fill's quote (a BUY's commission taken from the base received,
    a SELL's from the quote received), everything held is valued at the newest fill (of any
    variant) or closed candle price, and the running peak starts at the capital and is
    measured at the variant's own fills and at every closed candle."""
    cash = capital
    held: dict[str, Decimal] = {}
    mark: dict[str, Decimal] = {}
    peak, worst = capital, Decimal(0)
    spent: dict[str, Decimal] = {}
    received: dict[str, Decimal] = {}

    def equity() -> Decimal:
        return cash + sum((q * mark[s] for s, q in held.items() if q), Decimal(0))

    for line in lines:
        if line["type"] == "filled" and line["executed_qty"] and line["variant"] != variant:
            mark[line["symbol"]] = Decimal(line["avg_price"])  # any fill marks its symbol
            continue  # but only the variant's own fills and closes measure its drawdown
        if line["type"] == "filled" and line["variant"] == variant and line["executed_qty"]:
            symbol, qty = line["symbol"], Decimal(line["executed_qty"])
            quote, fee = Decimal(line["quote_qty"]), Decimal(line["commission"])
            base_fee = line["commission_asset"] != "USDT"
            if line["side"] == "BUY":
                cash -= quote
                spent[symbol] = spent.get(symbol, Decimal(0)) + quote
                held[symbol] = held.get(symbol, Decimal(0)) + qty - (fee if base_fee else 0)
            else:
                net = quote - (0 if base_fee else fee)
                cash += net
                received[symbol] = received.get(symbol, Decimal(0)) + net
                held[symbol] = held.get(symbol, Decimal(0)) - qty - (fee if base_fee else 0)
            mark[symbol] = Decimal(line["avg_price"])
        elif line["type"] == "candle" and line["complete"]:
            mark[line["symbol"]] = Decimal(line["close"])
        else:
            continue
        now = equity()
        peak = max(peak, now)
        worst = max(worst, (peak - now) / peak)
    now = equity()
    return {
        "equity": now,
        "return_pct": (now - capital) / capital * 100,
        "max_drawdown_pct": worst * 100,
    }


async def test_one_figure_everywhere_marked_at_fills_and_closes_and_after_a_restart(
    tmp_path: Path, binance_data: Path, ledger_url: str
) -> None:
    info = recorded_info(binance_data)
    clock = ManualClock(T0)
    first = await started(tmp_path, clock, info, VARIANTS, database_url=ledger_url)
    market = Market(first, clock)
    await market.closes(*UP)  # both variants buy
    await market.closes(*DIP)  # their positions dip: a drawdown while holding
    await market.closes(*DOWN)  # both sell
    await market.closes(*UP)  # and buy again: open at the end
    await market.closes(*DIP)
    await market.trade("58100")  # a trade inside the open minute: no mark

    seen = await _read(first)
    lines = ledger_lines(ledger_url)
    assert {x["type"] for x in lines} >= {"intent", "filled", "candle"}
    for variant in ("A", "B"):
        money = seen["money"][variant]
        perf = seen["performance"][variant]
        # The same figures in /strategy and /performance.
        assert money["equity"] == perf["equity"]
        assert money["realized_pnl"] == perf["totals"]["realized_pnl"]
        assert money["unrealized_pnl"] == perf["totals"]["unrealized_pnl"]
        assert money["return_pct"] == perf["totals"]["return_pct"]
        assert money["max_drawdown_pct"] == perf["totals"]["max_drawdown_pct"]
        # Equal to the recomputation from the ledger's fills and closes.
        truth = recompute(lines, variant)
        assert Decimal(money["equity"]) == truth["equity"].quantize(Q8)
        assert Decimal(money["return_pct"]) == truth["return_pct"].quantize(CENT)
        assert Decimal(money["max_drawdown_pct"]) == truth["max_drawdown_pct"].quantize(CENT)
        assert truth["max_drawdown_pct"] > 0  # the dips were seen
        assert Decimal(seen["curves"][variant][-1]["equity"]) == truth["equity"]

    # Reading changes nothing: a hundred polls later every figure is the same.
    for _ in range(50):
        again = await _read(first)
    assert again["money"] == seen["money"]
    assert again["curves"] == seen["curves"]
    await first.executor.stop(drain_timeout_s=1.0)

    # A restart on the same ledger marks the same figures again: the peak is not forgotten.
    second = await started(tmp_path, clock, info, VARIANTS, database_url=ledger_url)
    try:
        after = await _read(second)
    finally:
        await second.executor.stop(drain_timeout_s=1.0)
    assert after["money"] == seen["money"]
    assert after["curves"] == seen["curves"]
