"""What the strategy decides, as a past-tense event with the values that made it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class SignalReason(StrEnum):
    SIGNAL = "signal"  # the variant's strategy decided on a closed candle
    STOP_LOSS = "stop_loss"  # a tick at or below entry × (1 − stop_loss)
    MANUAL = "manual"  # a person asked (API / dashboard)
    END_OF_DATA = "end_of_data"  # a backtest closing what is still open


class Strength(StrEnum):
    STRONG = "STRONG"
    MODERATE = "MODERATE"


@dataclass(frozen=True, slots=True)
class SignalRaised:
    """A decision for one (variant, symbol).

    `ref` identifies what made it: the candle open time for a strategy's signal (of the
    variant's interval), the trade id for a stop,
    a caller-chosen number for a manual order. It goes into the client order id, so the same
    decision can never become two orders.
    """

    variant: str
    symbol: str
    side: Side
    reason: SignalReason
    price: Decimal  # the close (crossover) or the trade price (stop) that made it
    time_ms: int  # market time of the decision
    ref: int
    strength: Strength | None = None
    ema: float | None = None
    sma: float | None = None
    action: str = ""  # what the position did about it: "open", "close", "none: already long", …
    indicators: dict[str, float] | None = None  # a non-crossover strategy's values (RSI, …)
