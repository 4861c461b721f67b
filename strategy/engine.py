"""Runs one strategy per (symbol, parameter set) for every variant, and the stop-losses.

Positions: ONE source of truth, the execution layer's position book, built from actual fills.
The engine does not import execution; the executor tells it what is held by calling
`on_position_changed(variant, symbol, qty, entry_price)` after every order outcome (fill,
rejection, abandonment) and at start after rebuilding from the journal. The engine keeps only
a mirror of that plus `pending` (an order it asked for is in flight: no second order) and
`stop_fired` (a stop fires once per position, even if its exit order fails).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from aggregation.models import Candle, CandleSource
from config import VariantSettings
from data_ingestion.models import Tick
from strategy.base import Decision, Strategy
from strategy.crossover import Crossover
from strategy.models import Side, SignalRaised, SignalReason

StrategyFactory = Callable[[VariantSettings], Strategy]

# Strategies by name. Adding one: write a class satisfying strategy.base.Strategy, register it.
STRATEGIES: dict[str, StrategyFactory] = {
    Crossover.name: lambda v: Crossover(v.ema_period, v.sma_period),
}

_NONE: tuple[SignalRaised, ...] = ()  # returned when nothing happened: no allocation per candle
_ZERO = Decimal(0)
ACTION_OPEN = "open"
ACTION_CLOSE = "close"


class _Slot:
    """What the engine knows about one (variant, symbol) position (a mirror of the book)."""

    __slots__ = ("entry", "pending", "qty", "stop_fired", "stop_loss", "stop_price", "variant")

    def __init__(self, variant: str, stop_loss: Decimal) -> None:
        self.variant = variant
        self.stop_loss = stop_loss
        self.qty = _ZERO
        self.entry: Decimal | None = None
        # Compared with tick prices (Decimal against Decimal): entry × (1 − stop_loss).
        self.stop_price: Decimal | None = None
        self.pending = False
        self.stop_fired = False


class _Group:
    """Variants sharing one strategy instance (same parameters): indicators computed once."""

    __slots__ = ("slots", "strategy")

    def __init__(self, strategy: Strategy, slots: list[_Slot]) -> None:
        self.strategy = strategy
        self.slots = slots


class StrategyEngine:
    """Closed candles and ticks in, `SignalRaised` out, for every (variant, symbol)."""

    def __init__(
        self,
        variants: list[VariantSettings],
        symbols: Sequence[str] = (),
        strategy: str = Crossover.name,
    ) -> None:
        if not variants:
            raise ValueError("at least one variant is needed")
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; known: {sorted(STRATEGIES)}")
        self._factory = STRATEGIES[strategy]
        self.strategy_name = strategy
        self._variants = list(variants)
        self._groups: dict[str, list[_Group]] = {}
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._open: dict[str, list[_Slot]] = {}  # symbol -> slots holding a position
        for symbol in symbols:
            self.add_symbol(symbol)

    # -- symbols -----------------------------------------------------------------------------

    def add_symbol(self, symbol: str) -> list[_Group]:
        if symbol in self._groups:
            return self._groups[symbol]
        groups: list[_Group] = []
        by_params: dict[str, _Group] = {}
        for variant in self._variants:
            strat = self._factory(variant)
            key = repr(sorted(strat.parameters().items()))
            slot = _Slot(variant.name, variant.stop_loss)
            self._slots[(variant.name, symbol)] = slot
            if key in by_params:
                by_params[key].slots.append(slot)
            else:
                group = _Group(strat, [slot])
                by_params[key] = group
                groups.append(group)
        self._groups[symbol] = groups
        return groups

    def remove_symbol(self, symbol: str) -> None:
        self._groups.pop(symbol, None)
        self._open.pop(symbol, None)
        for variant in self._variants:
            self._slots.pop((variant.name, symbol), None)

    def symbols(self) -> list[str]:
        return list(self._groups)

    # -- inputs ------------------------------------------------------------------------------

    def on_candle(self, candle: Candle) -> Sequence[SignalRaised]:
        """Crossovers on a closed candle. Incomplete candles are skipped; warm-up candles
        (REST history at start) feed the indicators but raise no signal (they are the past)."""
        if not candle.complete:
            return _NONE
        groups = self._groups.get(candle.symbol)
        if groups is None:
            groups = self.add_symbol(candle.symbol)
        close = float(candle.close)  # indicators only; no order price is derived from it
        out: list[SignalRaised] | None = None
        for group in groups:
            decision = group.strategy.on_candle(candle, close)
            if decision is None or candle.source is CandleSource.WARMUP:
                continue
            if out is None:
                out = []
            for slot in group.slots:
                out.append(self._decide(slot, candle, decision))
        return _NONE if out is None else out

    def on_tick(self, tick: Tick) -> Sequence[SignalRaised]:
        """Stop-losses: last price <= entry × (1 − stop_loss), compared in Decimal."""
        slots = self._open.get(tick.symbol)
        if not slots:
            return _NONE
        price = tick.price
        out: list[SignalRaised] | None = None
        for slot in slots:
            stop = slot.stop_price
            if stop is None or slot.pending or slot.stop_fired or price > stop:
                continue
            slot.pending = True
            slot.stop_fired = True
            if out is None:
                out = []
            out.append(
                SignalRaised(
                    variant=slot.variant,
                    symbol=tick.symbol,
                    side=Side.SELL,
                    reason=SignalReason.STOP_LOSS,
                    price=price,
                    time_ms=tick.trade_time_ms,
                    ref=tick.trade_id,
                    action=ACTION_CLOSE,
                )
            )
        return _NONE if out is None else out

    def on_position_changed(
        self, variant: str, symbol: str, qty: Decimal, entry_price: Decimal | None
    ) -> None:
        """What (variant, symbol) holds now, from actual fills. Call after every order outcome
        (it also ends the `pending` state) and at start for every rebuilt position."""
        slot = self._slots.get((variant, symbol))
        if slot is None:
            if variant not in {v.name for v in self._variants}:
                return
            self.add_symbol(symbol)
            slot = self._slots[(variant, symbol)]
        slot.pending = False
        if qty != slot.qty or entry_price != slot.entry:
            slot.stop_fired = False
        slot.qty = qty
        slot.entry = entry_price if qty > 0 else None
        slot.stop_price = (
            slot.entry * (1 - slot.stop_loss) if slot.entry is not None and qty > 0 else None
        )
        open_slots = self._open.setdefault(symbol, [])
        if slot.stop_price is not None:
            if slot not in open_slots:
                open_slots.append(slot)
        elif slot in open_slots:
            open_slots.remove(slot)

    # -- reading -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Parameters, indicator values, readiness and positions as the engine sees them."""
        symbols: dict[str, Any] = {}
        for symbol, groups in self._groups.items():
            per_variant: dict[str, Any] = {}
            for group in groups:
                state = group.strategy.state()
                for slot in group.slots:
                    per_variant[slot.variant] = {
                        **state,
                        "parameters": group.strategy.parameters(),
                        "position_qty": str(slot.qty),
                        "entry_price": None if slot.entry is None else str(slot.entry),
                        "stop_price": None if slot.stop_price is None else str(slot.stop_price),
                        "order_pending": slot.pending,
                        "stop_fired": slot.stop_fired,
                    }
            symbols[symbol] = per_variant
        return {
            "strategy": self.strategy_name,
            "variants": [
                {
                    "name": v.name,
                    "stop_loss": str(v.stop_loss),
                    "ema_period": v.ema_period,
                    "sma_period": v.sma_period,
                }
                for v in self._variants
            ],
            "symbols": symbols,
        }

    # -- internals ---------------------------------------------------------------------------

    def _decide(self, slot: _Slot, candle: Candle, decision: Decision) -> SignalRaised:
        if slot.pending:
            action = "none: order in flight"
        elif decision.side is Side.BUY:
            action = "none: already long" if slot.qty > 0 else ACTION_OPEN
        else:
            action = ACTION_CLOSE if slot.qty > 0 else "none: flat"
        if action in (ACTION_OPEN, ACTION_CLOSE):
            slot.pending = True
        return SignalRaised(
            variant=slot.variant,
            symbol=candle.symbol,
            side=decision.side,
            reason=SignalReason.SIGNAL,
            price=candle.close,
            time_ms=candle.close_time,
            ref=candle.open_time,
            strength=decision.strength,
            ema=decision.ema,
            sma=decision.sma,
            action=action,
        )
