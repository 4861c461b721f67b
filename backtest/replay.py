"""Replay a service recording exactly: the recorded run's candles, signals and orders again.

A recording of format 2 (see `recording.recorder`) lists every input of the live pipeline in the
order it took effect. The replay applies them in that order to the same classes (Pipeline with
its CandleAggregator and StrategyEngine; the executor's order decisions, fills and bookings in
`backtest.orders`) on a ManualClock:

- a trade goes through `Pipeline.on_tick`, the clock set to when the service received it (the
  trade time for a backfilled one); the feed's `hold` / `release` / `gap` calls go to the
  aggregator where they happened, so the same minutes are held and marked incomplete/backfill;
- a `close` closes, on the aggregator, the minutes the live clock closed (flat ones included):
  the data's own order drives the close, not the replay's clock;
- a signal the pipeline submits waits, as it did in the live executor's queue, until the
  recording says its outcome took effect (`position` of that variant and symbol); then the
  executor runs the oldest waiting signal of that pair, so the strategy learns each position
  at the same point of the stream as it did live (stops and crossovers depend on it);
- the paper broker fills each order at the price the exchange filled it at in the recorded run
  (`fill`, by client order id), or rejects it if the exchange did (`orderError`); an order the
  recording has no answer for fills at its signal's price (the backtest's fill model).

Not reproduced, and said in a warning: positions the recorded run rebuilt from an older journal
at start, and manual orders from the API (each leaves a `position` line no signal waits for).
The recorded run's last minute stays open (it never closed live); what is still held at the end
is sold at the last close (`end_of_data`), as in every backtest.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from aggregation.warmup import kline_to_candle
from backtest.run import BacktestConfig, BacktestResult, BacktestRun
from config import Settings
from core.clock import MINUTE_MS
from core.errors import BadDataFile
from data_ingestion.schemas import FrameError
from execution.ids import client_order_id
from execution.rules import RulesError, parse_symbol_rules
from recording.format import (
    CLOSE,
    FILL,
    GAP,
    HEADER,
    HOLD,
    ORDER_ERROR,
    POSITION,
    RELEASE,
    SYMBOL,
    SYMBOL_INFO,
    WARMUP,
    header_variants,
    read_recording,
    recorded_tick,
    variants_differ,
)
from strategy.models import SignalRaised

log = logging.getLogger(__name__)


class _Replay:
    """One replay run: the components (`BacktestRun`) and the handling of each kind of line.

    A signal waits in the run's order queue until the recording says its outcome took
    effect (`position`); it then runs at the exchange's recorded fill price (`fill`), or is
    refused as the exchange refused it (`orderError`), or fills at its own price."""

    def __init__(self, settings: Settings, config: BacktestConfig, path: Path) -> None:
        self.config = config
        self.path = path
        self.backtest = BacktestRun(settings, config)
        self.clock = self.backtest.clock
        self.engine = self.backtest.engine
        self.orders = self.backtest.orders
        self.pipeline = self.backtest.pipeline
        self.aggregator = self.pipeline.aggregator
        # client order id -> the exchange's average price and commission
        self.fills: dict[str, tuple[Decimal, Decimal | None]] = {}
        self.rejected: set[str] = set()
        self.unmatched_positions = 0
        self.diverged = 0

    def header(self, event: dict[str, Any]) -> None:
        for symbol in event.get("symbols") or []:
            self.engine.add_symbol(str(symbol))
            self.aggregator.add_symbol(str(symbol))
        recorded = event.get("variants")
        ours = header_variants(self.config.variants)
        if recorded is not None and variants_differ(recorded, ours):
            log.warning(
                "%s: recorded with variants %s, replayed with %s: signals will differ",
                self.path, recorded, ours,
            )  # fmt: skip

    def trade(self, line: int, event: dict[str, Any]) -> None:
        try:
            tick = recorded_tick(event)
        except FrameError as exc:
            raise BadDataFile(self.path, line, str(exc)) from None
        if tick is None or self.backtest.outside(tick.trade_time_ms):
            return
        self.clock.set(tick.received_ms or tick.trade_time_ms)
        self.backtest.ticks += 1
        self.pipeline.on_tick(tick)

    def run_next(self, variant: str, symbol: str) -> SignalRaised | None:
        """Run the oldest waiting signal of (variant, symbol) at the recorded outcome's price;
        None when none waits."""
        signal = self.orders.take(variant, symbol)
        if signal is None:
            return None
        cid = client_order_id(signal.variant, signal.symbol, signal.reason, signal.ref, signal.side)
        if cid in self.fills:
            price, commission = self.fills[cid]
            self.orders.run(signal, price, commission)
        elif cid in self.rejected:
            self.orders.run(signal, None)  # the paper broker refuses it, as the exchange did
        else:
            self.orders.run(signal, signal.price)
        return signal

    async def position(self, event: dict[str, Any]) -> None:
        variant, symbol = str(event["variant"]), str(event["s"])
        signal = self.run_next(variant, symbol)
        if signal is None:
            self.unmatched_positions += 1
            log.warning(
                "%s: %s/%s holds %s in the recording, but no signal of the replay waits for it"
                " (a position from an older journal, or a manual order): not replayed",
                self.path, variant, symbol, event["q"],
            )  # fmt: skip
            return
        held = self.orders.positions.get(variant, symbol)
        entry = None if event["p"] is None else Decimal(event["p"])
        if held.qty != Decimal(event["q"]) or (held.qty > 0 and held.entry_price != entry):
            self.diverged += 1
            log.warning(
                "%s: after %s %s %s the replay holds %s at %s, the recorded run %s at %s",
                self.path, variant, symbol, signal.side.value, held.qty, held.entry_price,
                event["q"], event["p"],
            )  # fmt: skip

    def symbol(self, event: dict[str, Any]) -> None:
        symbol = str(event["s"])
        if event["op"] == "add":
            self.engine.add_symbol(symbol)
            self.aggregator.add_symbol(symbol)
        else:
            self.engine.remove_symbol(symbol)
            self.aggregator.remove_symbol(symbol)
            self.pipeline.tick_store.drop(symbol)

    async def step(self, line: int, event: dict[str, Any]) -> None:
        kind = event.get("e")
        if kind in ("trade", "aggTrade"):
            self.trade(line, event)
        elif kind == CLOSE:
            self.clock.set(int(event.get("c") or 0))
            self.aggregator.close_due(int(event["t"]) + MINUTE_MS + self.aggregator.grace_ms)
        elif kind == POSITION:
            await self.position(event)
        elif kind == HOLD:
            self.aggregator.hold(str(event["s"]))
        elif kind == RELEASE:
            self.aggregator.release(str(event["s"]))
        elif kind == GAP:
            self.aggregator.mark_gap(
                str(event["s"]), int(event["a"]), int(event["b"]), bool(event["filled"])
            )
        elif kind == FILL:
            fee = event.get("n")
            self.fills[str(event["c"])] = (
                Decimal(event["p"]),
                None if fee is None else Decimal(str(fee)),
            )
        elif kind == ORDER_ERROR:
            if event.get("final"):
                self.rejected.add(str(event["c"]))
        elif kind == WARMUP:
            symbol = str(event["s"])
            self.pipeline.warm_up(symbol, [kline_to_candle(symbol, row) for row in event["k"]])
        elif kind == SYMBOL_INFO:
            self.orders.set_rules(parse_symbol_rules(event["info"]))
        elif kind == SYMBOL:
            self.symbol(event)
        elif kind == HEADER:
            self.header(event)
        # other kinds: written by a newer recorder; nothing here depends on them

    async def run(self) -> BacktestResult:
        async with self.backtest.executing():
            for line, event in read_recording(self.path):
                try:
                    await self.step(line, event)
                except (KeyError, TypeError, ValueError, ArithmeticError, RulesError) as exc:
                    why = f"bad {event.get('e')!r} line: {type(exc).__name__}: {exc}"
                    raise BadDataFile(self.path, line, why) from None
            waiting = self.orders.drop_pending()
            if waiting:
                log.warning(
                    "%s: %d signal(s) had no outcome when the recording ended (not replayed): %s",
                    self.path, len(waiting),
                    ", ".join(f"{s.variant}/{s.symbol} {s.side.value}" for s in waiting[:5]),
                )  # fmt: skip
        return self.backtest.result()


async def replay_recording(
    settings: Settings, config: BacktestConfig, path: Path
) -> BacktestResult:
    """Replay one service recording (format 2) exactly; see the module docstring."""
    return await _Replay(settings, config, path).run()
