"""The trading state's fold: a checkpoint taken anywhere, written as JSON and read back, then
the rest folded in, gives exactly what one fold of the whole history gives."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import orjson
import pytest

from aggregation.models import Candle
from execution.codec import CandleNote, Entry, ExchangeReset, VariantControl
from execution.models import OrderRecord, OrderStatus
from execution.performance import RoundTrip, TripTally, fee_in_quote, round_trips, trip_stats
from execution.trading_state import TradingState
from strategy.models import Side, SignalReason
from tests.execution.conftest import T0

MIN = 60_000
STEP = Decimal("0.00001")
LOTS = {"BTCUSDT": ("BTC", "USDT", STEP), "ETHUSDT": ("ETH", "USDT", Decimal("0.0001"))}


def lot(symbol: str) -> tuple[str, str, Decimal | None]:
    return LOTS[symbol]


def new_state() -> TradingState:
    return TradingState(["A", "B"], Decimal(1000), lot, max_points=40)  # thinned often


def history(seed: int, steps: int = 600) -> list[Entry]:
    """A made-up but well-formed ledger: candles, entries and exits of two variants on two
    symbols (fees in base and in quote, partial exits, stops, manual orders), a rejected
    order, an intent left open, controls and an exchange reset."""
    rng = random.Random(seed)
    price = {"BTCUSDT": Decimal(60000), "ETHUSDT": Decimal(3000)}
    held: dict[tuple[str, str], Decimal] = {}
    out: list[Entry] = []
    n = 0
    for i in range(steps):
        t = T0 + i * MIN
        if i == steps // 2:
            out.append(ExchangeReset(t, "wiped"))
            held.clear()
            continue
        symbol = rng.choice(list(price))
        price[symbol] = (price[symbol] * Decimal(rng.uniform(0.98, 1.02))).quantize(Decimal("0.01"))
        p = price[symbol]
        roll = rng.random()
        if roll < 0.45:
            c = Candle(symbol, t, p, p, p, p, Decimal(1), p, 3, Decimal(0), Decimal(0))
            out.append(CandleNote(c))
            continue
        if roll < 0.5:
            out.append(VariantControl(t, rng.choice("AB"), rng.choice(["pause", "resume"])))
            continue
        if roll < 0.52:
            params = (("ema_period", rng.randint(3, 9)), ("sma_period", 20))
            sl = Decimal("0.1") if rng.random() < 0.5 else None
            out.append(VariantControl(t, "A", "configure", stop_loss=sl, parameters=params))
            continue
        variant = rng.choice("AB")
        key = (variant, symbol)
        n += 1
        have = held.get(key, Decimal(0))
        side = Side.SELL if have > 0 and rng.random() < 0.5 else Side.BUY
        reason = rng.choice([SignalReason.SIGNAL, SignalReason.STOP_LOSS, SignalReason.MANUAL])
        qty = Decimal("0.01") if side is Side.BUY else have
        closing = side is Side.SELL and rng.random() < 0.8
        if side is Side.SELL and not closing:
            qty = (have / 2).quantize(STEP)
        cid = f"{variant}-{symbol}-{n}"
        common: dict[str, Any] = dict(
            client_order_id=cid, variant=variant, symbol=symbol, side=side, quantity=qty,
            reason=reason if side is Side.SELL else SignalReason.SIGNAL, mode="paper",
            signal_time_ms=t, time_ms=t, closing=closing, ref=t,
        )  # fmt: skip
        out.append(OrderRecord(status=OrderStatus.INTENT, **common))
        fate = rng.random()
        if fate < 0.05:
            out.append(OrderRecord(status=OrderStatus.REJECTED, error="no", **common))
            continue
        if fate < 0.08:
            continue  # left open: a crash between the intent and its outcome
        in_base = side is Side.BUY and rng.random() < 0.5
        fee = (qty * Decimal("0.001")) if in_base else (qty * p * Decimal("0.001"))
        out.append(
            OrderRecord(
                status=OrderStatus.FILLED, exchange_order_id=n, executed_qty=qty, avg_price=p,
                quote_qty=qty * p, commission=fee,
                commission_asset=lot(symbol)[0] if in_base else "USDT",
                fill_time_ms=t + 5, realized_pnl=Decimal("1.5") if side is Side.SELL else None,
                **common,
            )
        )  # fmt: skip
        held[key] = have + qty if side is Side.BUY else have - qty
        if side is Side.BUY and rng.random() < 0.5:
            stop = dict(common, client_order_id=f"{cid}-pS", side=Side.SELL, order_type="STOP_LOSS")
            out.append(OrderRecord(status=OrderStatus.INTENT, **stop))
            out.append(OrderRecord(status=OrderStatus.OPEN, **stop))
            if rng.random() < 0.5:
                out.append(OrderRecord(status=OrderStatus.CANCELED, **stop))
    return out


def folded(entries: list[Entry], start: int = 0, state: TradingState | None = None) -> TradingState:
    state = state or new_state()
    for seq, entry in enumerate(entries[start:], start=start + 1):
        state.apply(seq, entry)
    return state


def through_json(state: TradingState) -> TradingState:
    again = new_state()
    again.restore(orjson.loads(orjson.dumps(state.snapshot())))
    return again


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_checkpoint_anywhere_then_the_tail_equals_one_fold_of_everything(seed: int) -> None:
    entries = history(seed)
    whole = folded(entries)
    assert whole.book.all() and whole.trips.tally("A").round_trips > 3  # a real history
    for cut in range(0, len(entries) + 1, 37):
        resumed = folded(entries, cut, through_json(folded(entries[:cut])))
        assert resumed.snapshot() == whole.snapshot(), f"cut at entry {cut}"
        for variant in ("A", "B"):
            assert resumed.accounts.money(variant) == whole.accounts.money(variant)
        assert resumed.accounts.total() == whole.accounts.total()


@pytest.mark.parametrize("seed", [4, 5])
def test_the_portfolio_drawdown_is_that_of_the_variants_equities_added_up(seed: int) -> None:
    """The total's peak and drawdown, kept as marks come (a fill revalues the symbol's other
    holders by the price change alone), equal those of the sum of every variant's equity
    read afresh from its positions after each entry."""
    state = new_state()
    capital = Decimal(2000)  # A's and B's
    peak, worst = capital, Decimal(0)
    for seq, entry in enumerate(history(seed, 900), start=1):
        state.apply(seq, entry)
        if isinstance(entry, ExchangeReset):
            peak, worst = capital, Decimal(0)
        equity = state.accounts.money("A").equity + state.accounts.money("B").equity
        peak = max(peak, equity)
        worst = max(worst, (peak - equity) / peak)
        total = state.accounts.total()
        assert total.equity == equity
        assert total.max_drawdown_pct == worst * 100, f"after entry {seq}: {entry}"
    assert worst > 0  # the history lost something on the way


def test_what_the_state_holds_follows_from_the_entries() -> None:
    entries = history(4)
    state = folded(entries)
    orders = [e for e in entries if isinstance(e, OrderRecord)]
    done = {r.client_order_id for r in orders if r.status is not OrderStatus.INTENT}
    left_open = [r.client_order_id for r in orders if r.client_order_id not in done]
    assert sorted(state.open_intents) == sorted(left_open) and left_open
    last_reset = max(i for i, e in enumerate(entries) if isinstance(e, ExchangeReset))
    after = [e for e in entries[last_reset:] if isinstance(e, OrderRecord) and e.filled]
    assert state.newest_fill == after[-1]
    controls = [e for e in entries if isinstance(e, VariantControl)]
    newest_pause_a = [c for c in controls if c.variant == "A" and c.action != "configure"][-1]
    assert newest_pause_a in state.control_entries()
    sl = [c.stop_loss for c in controls if c.action == "configure" and c.stop_loss][-1]
    configure = [c for c in state.control_entries() if c.action == "configure"]
    assert configure[0].stop_loss == sl
    # Round trips since the reset, as the one pairing counts them over the fills.
    fills = [e for e in entries[last_reset:] if isinstance(e, OrderRecord)]
    fee = fee_in_quote(lambda symbol: lot(symbol)[0])
    trips = round_trips(fills, fee)
    every = [t for (v, _), ts in trips.closed.items() if v == "A" for t in ts]
    opens = [t for (v, _), t in trips.open_since.items() if v == "A"]
    end = T0 + 10**9
    assert state.trips.tally("A").stats(T0, end, opens) == trip_stats(
        sorted(every, key=lambda t: t.entry_time), T0, end, opens
    )


def test_a_tally_settles_old_intervals_and_still_adds_up_like_trip_stats() -> None:
    rng = random.Random(7)
    trips: list[RoundTrip] = []
    for n in range(300):  # overlapping trips: some long, some short, some nested
        entry = T0 + rng.randint(0, 2000) * MIN
        exit_ = entry + rng.choice([1, 5, 90, 600]) * MIN
        reason = rng.choice(["signal", "stop_loss"])
        pnl = Decimal(rng.choice([-2, 1, 3]))
        trips.append(
            RoundTrip(entry, Decimal(10), exit_, Decimal(11), reason, Decimal(1), Decimal("0.1"),
                      pnl, f"e{n}", f"x{n}")
        )  # fmt: skip
    trips.sort(key=lambda t: t.exit_time)  # as they close
    tally = TripTally()
    for i, trip in enumerate(trips):
        tally.add(trip)
        later = [t.entry_time for t in trips[i + 1 :]]
        tally.settle(min(later, default=trip.exit_time))  # no trip to come starts before it
    end = T0 + 3000 * MIN
    assert len(tally.spans) < 20  # the rest was settled into one sum
    assert tally.stats(T0, end, [end - MIN]) == trip_stats(trips, T0, end, [end - MIN])
