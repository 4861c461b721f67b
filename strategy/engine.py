"""Runs each variant's strategy per symbol, on the variant's interval, and the stop-losses.

Candles in are the aggregator's closed 1-minute candles. A variant on a higher interval
(`@5m` in VARIANTS) sees the candles rolled up from them (aggregation.timeframes): one rollup
per (symbol, interval) in use, and variants with the same strategy, parameters and interval
share one strategy instance. The strategies of one (symbol, interval) share its indicator
series (strategy.indicators.Series): EMA(5) is computed once per bar however many read it.

Positions: ONE source of truth, the execution layer's position book, built from actual fills.
The engine does not import execution; the executor tells it what is held by calling
`on_position_changed(variant, symbol, qty, entry_price)` after every order outcome (fill,
rejection, abandonment) and at start after rebuilding from the journal. The engine keeps only
a mirror of that plus `pending` (an order it asked for is in flight: no second order) and
`stop_fired` (a stop fires once per position, even if its exit order fails).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from aggregation.models import Candle, CandleSource
from aggregation.timeframes import Rollup, interval_ms
from core.clock import MINUTE_MS
from core.variants import VariantSettings
from data_ingestion.models import Tick
from strategy.base import Decision, Strategy
from strategy.indicators import Series
from strategy.library import build_strategy
from strategy.models import Side, SignalRaised, SignalReason

_NONE: tuple[SignalRaised, ...] = ()  # returned when nothing happened: no allocation per candle
_ZERO = Decimal(0)
ACTION_OPEN = "open"
ACTION_CLOSE = "close"
ACTION_PAUSED = "none: paused"


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
    """Variants sharing one strategy instance (same strategy, parameters and interval):
    indicators computed once."""

    __slots__ = ("interval", "slots", "strategy")

    def __init__(self, strategy: Strategy, slots: list[_Slot], interval: str) -> None:
        self.strategy = strategy
        self.slots = slots
        self.interval = interval


class _Frame:
    """A higher interval of one symbol: its rollup and the groups trading on it."""

    __slots__ = ("groups", "rollup")

    def __init__(self, rollup: Rollup) -> None:
        self.rollup = rollup
        self.groups: list[_Group] = []


class StrategyEngine:
    """Closed candles and ticks in, `SignalRaised` out, for every (variant, symbol)."""

    def __init__(self, variants: list[VariantSettings], symbols: Sequence[str] = ()) -> None:
        if not variants:
            raise ValueError("at least one variant is needed")
        for v in variants:  # a bad name, parameter or interval fails here, not on a candle
            build_strategy(v.strategy, v.parameters())
            interval_ms(v.interval)
        self._variants = list(variants)
        # Every group of a symbol; the 1-minute ones; the higher intervals' frames.
        self._groups: dict[str, list[_Group]] = {}
        self._series: dict[str, dict[str, Series]] = {}  # symbol -> interval -> indicators
        self._minute: dict[str, list[_Group]] = {}
        self._frames: dict[str, list[_Frame]] = {}
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._open: dict[str, list[_Slot]] = {}  # symbol -> slots holding a position
        self._paused: set[str] = set()  # variants a person paused: no new entries
        for symbol in symbols:
            self.add_symbol(symbol)

    # -- symbols -----------------------------------------------------------------------------

    def add_symbol(self, symbol: str) -> list[_Group]:
        if symbol in self._groups:
            return self._groups[symbol]
        groups: list[_Group] = []
        by_params: dict[str, _Group] = {}
        frames: dict[str, _Frame] = {}
        streams: dict[str, Series] = {}  # interval -> the indicators its strategies share
        for variant in self._variants:
            series = streams.setdefault(variant.interval, Series())
            strat = build_strategy(variant.strategy, variant.parameters(), series)
            key = repr((variant.interval, strat.name, sorted(strat.parameters().items())))
            slot = _Slot(variant.name, variant.stop_loss)
            self._slots[(variant.name, symbol)] = slot
            if key in by_params:
                by_params[key].slots.append(slot)
                continue
            group = _Group(strat, [slot], variant.interval)
            by_params[key] = group
            groups.append(group)
            length = interval_ms(variant.interval)
            if length > MINUTE_MS:
                frame = frames.get(variant.interval)
                if frame is None:
                    frame = frames[variant.interval] = _Frame(Rollup(symbol, length))
                frame.groups.append(group)
        self._groups[symbol] = groups
        self._series[symbol] = streams
        self._minute[symbol] = [g for g in groups if interval_ms(g.interval) == MINUTE_MS]
        self._frames[symbol] = list(frames.values())
        return groups

    def remove_symbol(self, symbol: str) -> None:
        self._groups.pop(symbol, None)
        self._series.pop(symbol, None)
        self._minute.pop(symbol, None)
        self._frames.pop(symbol, None)
        self._open.pop(symbol, None)
        for variant in self._variants:
            self._slots.pop((variant.name, symbol), None)

    def symbols(self) -> list[str]:
        return list(self._groups)

    def indicators(self, symbol: str) -> dict[str, list[str]]:
        """The indicator series computed for `symbol`, per interval (`ema(5)`, …): each
        once, however many variants' strategies read it."""
        return {interval: s.names() for interval, s in self._series.get(symbol, {}).items()}

    def variants(self) -> list[VariantSettings]:
        return list(self._variants)

    def reconfigure(
        self, variant: VariantSettings, history: Callable[[str], Sequence[Candle]]
    ) -> None:
        """Run `variant` (same name) with a new stop-loss and/or parameters from now on.

        Every symbol's strategies are rebuilt (variants sharing an instance may now differ)
        and warmed up again on `history(symbol)`, the closed 1-minute candles, as warm-up (no
        signal). What each variant holds, its order in flight and its stop state are kept; the
        stop price follows the new stop-loss. ValueError for a variant that is not running or
        a bad strategy parameter (nothing changes then)."""
        if all(v.name != variant.name for v in self._variants):
            raise ValueError(f"variant {variant.name!r} is not running")
        build_strategy(variant.strategy, variant.parameters())
        interval_ms(variant.interval)
        self._variants = [variant if v.name == variant.name else v for v in self._variants]
        for symbol in list(self._groups):
            kept = {v.name: self._slots[(v.name, symbol)] for v in self._variants}
            del self._groups[symbol]
            self.add_symbol(symbol)
            self._open[symbol] = []
            for name, old in kept.items():
                slot = self._slots[(name, symbol)]
                slot.pending, slot.stop_fired = old.pending, old.stop_fired
                slot.qty, slot.entry = old.qty, old.entry
                if slot.entry is not None and slot.qty > 0:
                    slot.stop_price = slot.entry * (1 - slot.stop_loss)
                    self._open[symbol].append(slot)
            for candle in history(symbol):
                self.on_candle(replace(candle, source=CandleSource.WARMUP))

    def set_paused(self, variant: str, paused: bool) -> None:
        """Whether `variant` may open positions from its signals (exits and stops go on)."""
        if paused:
            self._paused.add(variant)
        else:
            self._paused.discard(variant)

    def paused(self, variant: str) -> bool:
        return variant in self._paused

    # -- inputs ------------------------------------------------------------------------------

    def on_candle(self, candle: Candle) -> Sequence[SignalRaised]:
        """Decisions on a closed 1-minute candle and on the higher-interval candles it closes.

        Incomplete candles are skipped (a higher interval with an incomplete or missing minute
        is incomplete); warm-up candles (REST history at start) feed the indicators but raise no
        signal (they are the past)."""
        symbol = candle.symbol
        minute = self._minute.get(symbol)
        if minute is None:
            self.add_symbol(symbol)
            minute = self._minute[symbol]
        out: list[SignalRaised] | None = None
        if candle.complete and minute:
            out = self._run(minute, candle, out)
        frames = self._frames[symbol]
        if frames:
            for frame in frames:
                for bar in frame.rollup.add(candle):
                    if bar.complete:
                        out = self._run(frame.groups, bar, out)
        return _NONE if out is None else out

    def _run(
        self, groups: list[_Group], candle: Candle, out: list[SignalRaised] | None
    ) -> list[SignalRaised] | None:
        close = float(candle.close)  # indicators only; no order price is derived from it
        for group in groups:
            decision = group.strategy.on_candle(candle, close)
            if decision is None or candle.source is CandleSource.WARMUP:
                continue
            if out is None:
                out = []
            for slot in group.slots:
                out.append(self._decide(slot, candle, decision))
        return out

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

    @property
    def strategy_name(self) -> str:
        """The variants' strategies, comma separated in order of first use ("ema_sma")."""
        return ",".join(dict.fromkeys(v.strategy for v in self._variants))

    def stop_loss(self, variant: str) -> Decimal:
        """The variant's stop-loss as the engine applies it now."""
        for slot in self._slots.values():
            if slot.variant == variant:
                return slot.stop_loss
        return next(v.stop_loss for v in self._variants if v.name == variant)

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
                        "strategy": group.strategy.name,
                        "interval": group.interval,
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
                    "strategy": v.strategy,
                    "parameters": v.parameters(),
                    "interval": v.interval,
                    "spec": v.spec,
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
            if slot.qty > 0:
                action = "none: already long"
            else:
                action = ACTION_PAUSED if slot.variant in self._paused else ACTION_OPEN
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
            indicators=decision.values,
        )
