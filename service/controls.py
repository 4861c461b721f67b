"""A person's control of the variants at run time: pause, resume, close all, re-configure.

Each command is journaled (`execution.codec.VariantControl`) before it takes effect, and the
journal's commands are replayed at start, so a paused or re-configured variant stays so after
a restart. Pausing stops new entries only: the strategy engine decides its BUY signals
`"none: paused"` (no order, nothing in the journal), and the executor's entry gate refuses any
other BUY (a manual order) with the reason; exits, stops and closes keep working. A
re-configuration is validated completely before anything changes: a bad value is a
`ValueError` naming it, and nothing else happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from aggregation.models import Candle
from core.clock import Clock
from core.variants import DEFAULT_STRATEGY, Number, VariantSettings, spec_of
from execution.codec import VariantControl
from execution.executor import OrderExecutor
from execution.ledger import Ledger
from execution.models import OrderRecord
from execution.variant_state import State, VariantStates
from strategy.engine import StrategyEngine
from strategy.library import build_strategy

History = Callable[[str], Sequence[Candle]]


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def configured(
    current: VariantSettings,
    stop_loss: Decimal | None = None,
    parameters: Mapping[str, Number] | None = None,
) -> VariantSettings:
    """`current` with a new stop-loss and/or strategy parameters (the others kept); ValueError
    saying what is wrong (the same checks as the VARIANTS setting)."""
    if stop_loss is None and not parameters:
        raise ValueError("nothing to change: give stop_loss and/or parameters")
    stop = current.stop_loss
    if stop_loss is not None:
        if not stop_loss.is_finite() or not Decimal(0) < stop_loss < Decimal(1):
            raise ValueError(f"stop_loss must be between 0 and 1 (exclusive), got {stop_loss}")
        stop = stop_loss
    values = current.parameters()
    if parameters:
        values = spec_of(current.strategy).resolve((), dict(parameters), values)
    if current.strategy == DEFAULT_STRATEGY:
        return replace(
            current,
            stop_loss=stop,
            ema_period=int(values["ema_period"]),
            sma_period=int(values["sma_period"]),
        )
    return replace(current, stop_loss=stop, params=tuple(values.items()))


class VariantControls:
    """Pause, resume, close all and re-configure, journaled; the variants as they run now."""

    def __init__(
        self,
        variants: Sequence[VariantSettings],
        *,
        ledger: Ledger,
        executor: OrderExecutor,
        engine: StrategyEngine,
        states: VariantStates,
        clock: Clock,
        history: History,
    ) -> None:
        self._variants = {v.name: v for v in variants}
        self._ledger = ledger
        self._executor = executor
        self._engine = engine
        self._states = states
        self._clock = clock
        self._history = history
        executor.entry_gate = states.paused_by_person

    def variants(self) -> list[VariantSettings]:
        """Every variant with its current stop-loss, strategy and parameters."""
        return list(self._variants.values())

    def get(self, name: str) -> VariantSettings:
        """KeyError for an unknown variant."""
        return self._variants[name]

    def paused(self, name: str) -> bool:
        return self._states.paused_by_person(name) is not None

    def restore(self, controls: Iterable[VariantControl]) -> int:
        """Apply the ledger's commands (at start: `TradingState.control_entries`); how many."""
        count = 0
        for entry in controls:
            if entry.variant in self._variants:
                self._apply(entry)
                count += 1
        return count

    async def pause(self, name: str, reason: str = "") -> None:
        await self._command(VariantControl(self._clock.now_ms(), name, "pause", reason))

    async def resume(self, name: str) -> None:
        await self._command(VariantControl(self._clock.now_ms(), name, "resume"))

    async def configure(
        self,
        name: str,
        stop_loss: Decimal | None = None,
        parameters: Mapping[str, Number] | None = None,
    ) -> VariantSettings:
        """Validate, journal, apply; ValueError (nothing changed) on a bad value."""
        new = configured(self.get(name), stop_loss, parameters)
        build_strategy(new.strategy, new.parameters())  # the class accepts them too
        params = tuple(new.parameters().items()) if parameters else ()
        await self._command(
            VariantControl(
                self._clock.now_ms(), name, "configure",
                stop_loss=new.stop_loss if stop_loss is not None else None, parameters=params,
            )
        )  # fmt: skip
        return self.get(name)

    async def close_all(self, name: str) -> list[OrderRecord]:
        """Every open position of the variant, through the executor's close path."""
        self.get(name)
        held = [p.symbol for p in self._executor.positions.open() if p.variant == name]
        return [await self._executor.close_position(name, symbol) for symbol in held]

    async def _command(self, control: VariantControl) -> None:
        self.get(control.variant)
        await self._ledger.append(control)  # durable before it takes effect
        self._apply(control)

    def _apply(self, control: VariantControl) -> None:
        name = control.variant
        if control.action == "pause":
            why = f"paused by a person at {_when(control.time_ms)}"
            self._states.set_variant(
                name, State.PAUSED, f"{why}: {control.reason}" if control.reason else why
            )
            self._engine.set_paused(name, True)
        elif control.action == "resume":
            self._states.clear_variant(name)
            self._engine.set_paused(name, False)
        else:
            new = configured(self._variants[name], control.stop_loss, dict(control.parameters))
            self._engine.reconfigure(new, self._history)
            self._variants[name] = new
            if control.stop_loss is not None:  # a stop resting on the exchange moves too
                for pos in self._executor.positions.open():
                    if pos.variant == name:
                        self._executor.check_stop(name, pos.symbol, protect=True)
