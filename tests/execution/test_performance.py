"""The shared performance figures (execution.performance) on small hand-checked journals."""

from __future__ import annotations

from decimal import Decimal

from execution.models import OrderRecord, OrderStatus
from execution.performance import (
    DrawdownMeter,
    fee_in_quote,
    max_drawdown,
    return_pct,
    round_trips,
    trip_stats,
)
from strategy.models import Side, SignalReason

MIN = 60_000


def fill(
    n: int, side: Side, qty: str, price: str, *, t: int, pnl: str | None = None,
    closing: bool = False, reason: SignalReason = SignalReason.SIGNAL, variant: str = "A",
) -> OrderRecord:  # fmt: skip
    q, p = Decimal(qty), Decimal(price)
    fee_asset = "BTC" if side is Side.BUY else "USDT"
    fee = q * Decimal("0.001") if side is Side.BUY else q * p * Decimal("0.001")
    return OrderRecord(
        status=OrderStatus.FILLED, client_order_id=f"c{n}", variant=variant, symbol="BTCUSDT",
        side=side, quantity=q, reason=reason, mode="paper", signal_time_ms=t, time_ms=t,
        closing=closing, executed_qty=q, avg_price=p, quote_qty=q * p, commission=fee,
        commission_asset=fee_asset, fill_time_ms=t,
        realized_pnl=None if pnl is None else Decimal(pnl),
    )  # fmt: skip


FEE = fee_in_quote(lambda symbol: "BTC")


def test_a_round_trip_gathers_every_fill_from_first_entry_to_the_closing_exit() -> None:
    fills = [
        fill(1, Side.BUY, "1", "100", t=0),
        fill(2, Side.BUY, "1", "110", t=1 * MIN),
        fill(3, Side.SELL, "0.5", "120", t=2 * MIN, pnl="4"),  # partial: the trip goes on
        fill(
            4,
            Side.SELL,
            "1.4",
            "90",
            t=4 * MIN,
            pnl="-25",
            closing=True,
            reason=SignalReason.STOP_LOSS,
        ),
        fill(5, Side.BUY, "1", "100", t=6 * MIN, variant="B"),  # B still open
        fill(6, Side.SELL, "1", "100", t=7 * MIN, pnl="1", variant="A", closing=True),  # no entry
    ]
    trips = round_trips(fills, FEE)
    (trip,) = trips.closed[("A", "BTCUSDT")]
    assert trip.entry_time == 0 and trip.exit_time == 4 * MIN and trip.hold_ms == 4 * MIN
    assert trip.entry_price == Decimal(105) and trip.quantity == Decimal("1.9")
    assert trip.exit_price == (Decimal("0.5") * 120 + Decimal("1.4") * 90) / Decimal("1.9")
    # fees: 0.001 BTC at 100 and at 110, 0.1 % of 60 and of 126 quote
    assert trip.fees == Decimal("0.1") + Decimal("0.11") + Decimal("0.06") + Decimal("0.126")
    assert trip.pnl == Decimal(-21) and trip.exit_reason == "stop_loss"
    assert trip.entry_order_id == "c1" and trip.exit_order_id == "c4"
    assert trips.open_since == {("B", "BTCUSDT"): 6 * MIN}


def test_trip_stats_count_wins_stops_hold_and_exposure() -> None:
    fills = [
        fill(1, Side.BUY, "1", "100", t=0),
        fill(2, Side.SELL, "1", "110", t=2 * MIN, pnl="9.7", closing=True),
        fill(3, Side.BUY, "1", "100", t=4 * MIN),
        fill(
            4,
            Side.SELL,
            "1",
            "85",
            t=5 * MIN,
            pnl="-15.3",
            closing=True,
            reason=SignalReason.STOP_LOSS,
        ),
        fill(5, Side.BUY, "1", "100", t=8 * MIN),
    ]
    trips = round_trips(fills, FEE)
    closed = trips.closed[("A", "BTCUSDT")]
    stats = trip_stats(closed, 0, 10 * MIN, trips.open_since.values())
    assert (stats.round_trips, stats.wins, stats.stops_hit) == (2, 1, 1)
    assert stats.win_rate == 0.5 and stats.pnl == Decimal("-5.6")
    assert stats.avg_hold_ms == (2 * MIN + 1 * MIN) // 2
    assert stats.held_ms == 5 * MIN and stats.exposure == 0.5  # 2 + 1 closed + 2 open of 10
    empty = trip_stats([], 0, 0)
    assert empty.win_rate == 0.0 and empty.avg_hold_ms is None and empty.exposure == 0.0


def test_drawdown_is_the_same_on_floats_and_decimals() -> None:
    assert max_drawdown([100.0, 120.0, 90.0, 130.0, 117.0]) == 0.25
    assert max_drawdown([Decimal(100), Decimal(120), Decimal(90)]) == Decimal("0.25")
    assert max_drawdown([]) is None and max_drawdown([5.0, 6.0]) == 0.0
    meter = DrawdownMeter(Decimal(100))
    for value in (120, 90, 130, 117):
        meter.mark(Decimal(value))
    assert meter.peak == 130 and meter.max_drawdown == Decimal("0.25")
    assert return_pct(Decimal(-25), Decimal(500)) == Decimal(-5)
