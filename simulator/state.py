"""The shared state of one simulator run: clock, tapes per symbol, counters."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from simulator import errors
from simulator.book import OrderBook
from simulator.clock import MarketClock
from simulator.config import SimulatorConfig, SymbolSpec, make_spec
from simulator.intervals import MINUTE_MS
from simulator.market import Tape, Trade

# Called with a symbol and its newly released trades, in id order (the order engine).
TradeListener = Callable[[str, list[Trade]], None]


def default_start_ms(speed: float = 1.0) -> int:
    """Real now; floored to the minute when the market runs faster than real time (its minutes
    then line up with the wall clock's). At speed 1 the market is the wall clock, so that
    clients that stamp their own time (the SDK, ccxt) stay inside the recvWindow."""
    now = time.time_ns() // 1_000_000
    return now if speed == 1 else now - now % MINUTE_MS


@dataclass
class MarketState:
    """What every endpoint reads: the clock and the symbols' tapes."""

    config: SimulatorConfig
    clock: MarketClock
    specs: dict[str, SymbolSpec]
    tapes: dict[str, Tape]
    stats: Counter[str]
    listeners: list[TradeListener] = field(default_factory=list)
    books: dict[str, OrderBook] = field(default_factory=dict)  # follow the tapes (book.py)

    @classmethod
    def build(cls, config: SimulatorConfig) -> MarketState:
        start = config.start_ms if config.start_ms is not None else default_start_ms(config.speed)
        origin = start - config.history_minutes * MINUTE_MS
        specs = {s: make_spec(s, config.seed) for s in config.symbols}
        tapes = {
            s: Tape(
                spec,
                config.seed,
                config.trade_rate,
                origin,
                config.max_trades_per_symbol,
                config.max_candles_per_symbol,
            )
            for s, spec in specs.items()
        }
        state = cls(config, MarketClock(start, config.speed), specs, tapes, Counter())
        state.advance()
        for symbol, tape in tapes.items():
            last = tape.trades[-1] if tape.trades else None
            state.books[symbol] = OrderBook(tape.spec, config.seed, last)
        state.listeners.append(state._move_book)
        return state

    def _move_book(self, symbol: str, trades: list[Trade]) -> None:
        self.books[symbol].apply(trades)

    def advance(self) -> int:
        """Release every trade due by the market clock; returns the market time used."""
        now = self.clock.now_ms()
        for symbol, tape in self.tapes.items():
            released = tape.advance(now)
            if released:
                self._notify(symbol, released)
        return now

    def shock(self, symbol: str, percent: Decimal) -> Trade:
        """Move `symbol`'s price path by `percent` now; returns the trade printed at it."""
        released = self.tape(symbol).shock(percent, self.clock.now_ms())
        self._notify(symbol, released)
        return released[-1]

    def _notify(self, symbol: str, trades: list[Trade]) -> None:
        for listener in self.listeners:
            listener(symbol, trades)

    def tape(self, symbol: str | None) -> Tape:
        """The tape of `symbol` (-1102 if missing, -1121 if unknown)."""
        if symbol is None:
            raise errors.missing("symbol")
        tape = self.tapes.get(symbol)  # case-sensitive, as on Binance
        if tape is None:
            raise errors.invalid_symbol()
        return tape
