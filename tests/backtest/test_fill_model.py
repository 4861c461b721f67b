"""The fill model: where a backtest's market orders fill (tables), and every fill of a run
on real testnet klines recomputed from the candles."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from backtest.fill_model import MEASURED, FillModel, FillModelError, fill_model
from backtest.run import BacktestConfig
from backtest.runner import run_backtest
from backtest.sources import identify, load_klines
from config import load_settings
from data_ingestion.files import read_trades
from execution.models import OrderStatus
from strategy.models import Side, SignalReason
from tests.conftest import BINANCE_DATA

KLINES = BINANCE_DATA / "testnet-btcusdt-2026-06-15" / "klines_1m.json"


@pytest.mark.parametrize(
    ("model", "side", "reference", "expected"),
    [
        (FillModel(), Side.BUY, Decimal("100"), Decimal("100")),
        (FillModel(slippage_bps=Decimal("10")), Side.BUY, Decimal("100"), Decimal("100.1")),
        (FillModel(slippage_bps=Decimal("10")), Side.SELL, Decimal("100"), Decimal("99.9")),
        (FillModel(slippage_bps=Decimal("7.6")), Side.BUY, Decimal("65000.01"),
         Decimal("65000.01") * Decimal("1.00076")),
    ],
)  # fmt: skip
def test_price(model: FillModel, side: Side, reference: Decimal, expected: Decimal) -> None:
    assert model.price(side, reference) == expected


@pytest.mark.parametrize(
    ("at", "slippage", "expected"),
    [
        (None, None, MEASURED),
        ("close", None, FillModel(False, MEASURED.slippage_bps, MEASURED.latency_ms)),
        ("next-open", "0", FillModel(True, Decimal(0), MEASURED.latency_ms)),
        ("close", "12.5", FillModel(False, Decimal("12.5"), MEASURED.latency_ms)),
    ],
)
def test_options(at: str | None, slippage: str | None, expected: FillModel) -> None:
    assert fill_model(at, slippage) == expected


@pytest.mark.parametrize(
    ("at", "slippage", "words"),
    [
        ("open", None, "--fill 'open'"),
        (None, "x", "--slippage 'x' is not a number"),
        (None, "-1", "between 0 and 1000"),
        (None, "nan", "between 0 and 1000"),
    ],
)
def test_bad_options(at: str | None, slippage: str | None, words: str) -> None:
    with pytest.raises(FillModelError, match=words.replace("(", r"\(")):
        fill_model(at, slippage)


@pytest.mark.parametrize(
    ("latency", "expected"),
    [(None, MEASURED.latency_ms), ("0", 0), ("250", 250), ("60000", 60_000)],
)
def test_latency_option(latency: str | None, expected: int) -> None:
    assert fill_model(None, None, latency).latency_ms == expected


@pytest.mark.parametrize("latency", ["-1", "1.5", "60001", "x", ""])
def test_bad_latency_names_the_option(latency: str) -> None:
    with pytest.raises(FillModelError, match=f"--latency '{latency}': whole milliseconds"):
        fill_model(None, None, latency)


def test_every_fill_follows_the_model_on_real_klines() -> None:
    stops = {"A": Decimal("0.002"), "B": Decimal("0.15")}  # testnet wicks reach even 15 %
    settings = load_settings(None, variants="A:0.002,B:0.15")
    config = BacktestConfig(
        files=[KLINES], variants=settings.variant_settings, fee_rate=Decimal("0.001"),
        symbol="BTCUSDT", fill=MEASURED,
    )  # fmt: skip
    result = asyncio.run(run_backtest(settings, config))
    candles = load_klines(identify(KLINES, "BTCUSDT"))
    by_open = {c.open_time: c for c in candles}
    slip = MEASURED.slippage_bps / Decimal(10_000)
    fills = [r for r in result.journal if r.status is OrderStatus.FILLED]
    entry: dict[str, Decimal] = {}
    seen = {reason: 0 for reason in SignalReason}
    for fill in fills:
        seen[fill.reason] += 1
        assert fill.avg_price is not None
        against = 1 + slip if fill.side is Side.BUY else 1 - slip
        if fill.reason is SignalReason.SIGNAL:
            # Decided at a candle's close (its open time is `ref`), filled at the next open.
            nxt = by_open[fill.ref + 60_000]
            assert fill.time_ms == nxt.open_time
            assert fill.avg_price == nxt.open * against
        elif fill.reason is SignalReason.STOP_LOSS:
            candle = by_open[fill.time_ms]
            level = entry[fill.variant] * (1 - stops[fill.variant])
            assert fill.avg_price in (candle.open * against, level * against)
            assert candle.low <= level
        else:
            assert fill.reason is SignalReason.END_OF_DATA
            assert fill.avg_price == candles[-1].close  # a valuation: no slippage
        if fill.side is Side.BUY:
            entry[fill.variant] = fill.avg_price
    assert seen[SignalReason.SIGNAL] > 20 and seen[SignalReason.STOP_LOSS] > 0
    # An order decided at the last candle has no next open: it does not fill.
    assert all(f.ref < candles[-1].open_time for f in fills if f.reason is SignalReason.SIGNAL)


TRADES = BINANCE_DATA / "testnet-btcusdt-2026-06-15" / "trades.json"


@pytest.mark.parametrize("latency_ms", [0, 5_000, 45_000])
def test_on_trade_data_each_order_fills_at_the_first_trade_a_latency_after_its_decision(
    latency_ms: int,
) -> None:
    """Real testnet trades: a crossover is decided at the trade that closes its candle (a stop
    at the trade that crosses it: none in these 15 minutes); each fills at the first later
    trade at least `latency_ms` after that one, at its price (no slippage here), or not at
    all when none comes. Recomputed from the trades alone."""
    settings = load_settings(None, variants="A:0.05:ema_sma(ema_period=2,sma_period=3)")
    model = FillModel(next_open=True, slippage_bps=Decimal(0), latency_ms=latency_ms)
    config = BacktestConfig(
        files=[TRADES], variants=settings.variant_settings, fee_rate=Decimal("0.001"),
        symbol="BTCUSDT", fill=model,
    )  # fmt: skip
    result = asyncio.run(run_backtest(settings, config))
    trades = sorted(read_trades(TRADES, "BTCUSDT"), key=lambda t: t.trade_id)
    times = [t.trade_time_ms for t in trades]
    index_of = {t.trade_id: i for i, t in enumerate(trades)}
    decided = [  # each order's outcome (its intent, written first, left out)
        r
        for r in result.journal
        if r.reason is not SignalReason.END_OF_DATA and r.status is not OrderStatus.INTENT
    ]
    filled = {r.client_order_id: r for r in decided if r.status is OrderStatus.FILLED}
    expected_fills = 0
    for signal in result.signals:
        if not signal.action.startswith(("open", "close")):
            continue  # nothing to do about it: no order
        decider: int | None
        if signal.reason is SignalReason.STOP_LOSS:
            decider = index_of[signal.ref]  # the trade that crossed the stop
        else:  # the first trade after the candle closed it
            decider = next((i for i, t in enumerate(times) if t > signal.time_ms), None)
        orders = [r for r in decided if r.ref == signal.ref and r.side is signal.side
                  and r.signal_time_ms == signal.time_ms]  # fmt: skip
        if decider is None:  # the data's last minute, closed on the clock: no trade after it
            assert orders == [], orders
            continue
        due = times[decider] + latency_ms
        arrival = next((t for t in trades[decider + 1 :] if t.trade_time_ms >= due), None)
        if arrival is None:  # no trade reached the book after it: still in flight at the end
            assert orders == [], orders
            continue
        assert len(orders) == 1, (signal, orders)
        order = orders[0]
        expected_fills += 1
        assert order.status is OrderStatus.FILLED, (signal, order)
        assert (order.avg_price, order.time_ms) == (arrival.price, arrival.trade_time_ms), (
            signal, order, arrival)  # fmt: skip
    assert expected_fills == len(filled) > 0
