"""Whether each variant may open positions now, and why not: nothing stops silently.

- `active`: entries go out.
- `paused`: entries wait for something that passes by itself (the exchange rate-limited us,
  the exchange is not reachable yet, a person paused it).
- `halted`: entries stop until a person acts or the UTC day ends (the daily loss limit, the
  orders-per-day guard, capital spent, refused credentials, an unusable journal, an exchange
  reset to look at). Exits and stops keep working in every state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from execution.risk import RiskManager


class State(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class VariantState:
    variant: str
    state: State
    reason: str | None = None


class VariantStates:
    """Derives each variant's state from the risk manager and the service-wide conditions."""

    def __init__(
        self,
        variants: list[str],
        risk: RiskManager,
        capital_reason: Callable[[str], str | None] | None = None,
    ) -> None:
        self._variants = list(variants)
        self._risk = risk
        self._capital_reason = capital_reason
        self._service: dict[str, tuple[State, str]] = {}  # key -> (state, reason), all variants
        self._own: dict[str, tuple[State, str]] = {}  # variant -> (state, reason)

    def set_service(self, key: str, state: State, reason: str) -> None:
        """A condition that stops every variant (until `clear_service(key)`)."""
        self._service[key] = (state, reason)

    def clear_service(self, key: str) -> None:
        self._service.pop(key, None)

    def set_variant(self, variant: str, state: State, reason: str) -> None:
        self._own[variant] = (state, reason)

    def clear_variant(self, variant: str) -> None:
        self._own.pop(variant, None)

    def paused_by_person(self, variant: str) -> str | None:
        """The reason when `variant` itself was paused (`set_variant(..., PAUSED, ...)`)."""
        own = self._own.get(variant)
        return own[1] if own is not None and own[0] is State.PAUSED else None

    def of(self, variant: str) -> VariantState:
        halted = [r for s, r in self._service.values() if s is State.HALTED]
        if variant in self._own and self._own[variant][0] is State.HALTED:
            halted.insert(0, self._own[variant][1])
        own_halt = self._risk.halt_reason(variant)
        if own_halt is not None:
            halted.append(own_halt)
        if self._capital_reason is not None and (why := self._capital_reason(variant)):
            halted.append(why)
        if halted:
            return VariantState(variant, State.HALTED, "; ".join(halted))
        paused = [r for s, r in self._service.values() if s is State.PAUSED]
        if variant in self._own and self._own[variant][0] is State.PAUSED:
            paused.insert(0, self._own[variant][1])
        if (left := self._risk.paused_for()) > 0:
            paused.append(f"rate limited by the exchange for {left:.0f} s more")
        if paused:
            return VariantState(variant, State.PAUSED, "; ".join(paused))
        return VariantState(variant, State.ACTIVE)

    def all(self) -> list[VariantState]:
        return [self.of(v) for v in self._variants]
