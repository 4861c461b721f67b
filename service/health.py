"""The service's health as data: ok or degraded (with reasons), per-symbol feed state."""

from __future__ import annotations

from dataclasses import dataclass, field

from execution.variant_state import VariantState


@dataclass(frozen=True, slots=True)
class FeedReport:
    status: str
    reconnects: int
    last_tick_ms: int | None
    last_tick_age_s: float | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: str  # "ok" | "degraded"
    reasons: list[str]
    mode: str  # "paper" | "testnet" | "simulated"
    uptime_s: float
    started_ms: int
    now_ms: int
    symbols: dict[str, FeedReport] = field(default_factory=dict)
    variants: list[VariantState] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # found at start; nothing wrong now
