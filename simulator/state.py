"""The shared state of one simulator run: clock, tapes per symbol, counters."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from simulator import errors
from simulator.clock import MarketClock
from simulator.config import SimulatorConfig, SymbolSpec, make_spec
from simulator.market import MINUTE_MS, Tape


def default_start_ms() -> int:
    """Real now, floored to the minute."""
    now = time.time_ns() // 1_000_000
    return now - now % MINUTE_MS


@dataclass
class MarketState:
    """What every endpoint reads: the clock and the symbols' tapes."""

    config: SimulatorConfig
    clock: MarketClock
    specs: dict[str, SymbolSpec]
    tapes: dict[str, Tape]
    stats: Counter[str]

    @classmethod
    def build(cls, config: SimulatorConfig) -> MarketState:
        start = config.start_ms if config.start_ms is not None else default_start_ms()
        origin = start - config.history_minutes * MINUTE_MS
        specs = {s: make_spec(s, config.seed) for s in config.symbols}
        tapes = {
            s: Tape(spec, config.seed, config.trade_rate, origin, config.max_trades_per_symbol)
            for s, spec in specs.items()
        }
        state = cls(config, MarketClock(start, config.speed), specs, tapes, Counter())
        state.advance()
        return state

    def advance(self) -> int:
        """Release every trade due by the market clock; returns the market time used."""
        now = self.clock.now_ms()
        for tape in self.tapes.values():
            tape.advance(now)
        return now

    def tape(self, symbol: str | None) -> Tape:
        """The tape of `symbol` (-1102 if missing, -1121 if unknown)."""
        if symbol is None:
            raise errors.missing("symbol")
        tape = self.tapes.get(symbol.upper() if symbol.isalnum() else symbol)
        if tape is None:
            raise errors.invalid_symbol()
        return tape
