"""Where a backtest's market order fills: the fill model (docs/backtests.md, "Fill model").

Sans-I/O. A live market order reaches the book after the signal, at a price the strategy did
not see: the close of the signalling candle is the price the backtest must not promise.

- `next_open`: with candle data, an order the strategy asks for at a candle's close fills at
  the next candle's open of that symbol (an order at the last candle does not fill: no price
  comes after it). With trade data, an order decided at a trade (a candle the trades closed,
  a stop a trade crossed) fills at the price of the first trade of that symbol at least
  `latency_ms` after the decision (none comes: it does not fill). Off: at the signalling close
  or trade (the backtest's model before this one; the library default, which the tests of the
  live classes use).
- `latency_ms`: the time from the decision to the order reaching the book.
- `slippage_bps`: the fill is that price moved against the order, BUY up and SELL down, by
  this many basis points (0.01 %): spread, impact, the price moving while the order travels.
  Stops (a SELL at the stop level or the gapped open) slip too; the end-of-data sale (a
  valuation at the last close) does not.

The defaults of the command line (`MEASURED`) are the measured behaviour: live signal fills
under `--simulate` came 7.6 bps worse on average than the signalling candle's close
(issue "Research that scales", measured on the built-in simulator's market), and the service
takes about 1 ms from a decision to its order (bench.decision).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.errors import BadInputError
from strategy.models import Side

_BPS = Decimal(10_000)


class FillModelError(BadInputError):
    """A fill-model option that cannot be used."""


@dataclass(frozen=True, slots=True)
class FillModel:
    next_open: bool = False
    slippage_bps: Decimal = Decimal(0)
    latency_ms: int = 0

    def price(self, side: Side, reference: Decimal) -> Decimal:
        """The fill price of a market order of `side` whose model price is `reference`."""
        if not self.slippage_bps:
            return reference
        move = reference * self.slippage_bps / _BPS
        return reference + move if side is Side.BUY else reference - move

    def describe(self) -> str:
        if self.next_open:
            at = f"the next open (trade data: the first trade {self.latency_ms} ms on)"
        else:
            at = "the signalling close"
        return f"fills at {at} + {self.slippage_bps} bps"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FillModel:
        """`to_json`'s dict read back (a report's `fill`; older reports have no latency)."""
        return cls(
            bool(data["next_open"]),
            Decimal(str(data["slippage_bps"])),
            int(data.get("latency_ms", 0)),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "next_open": self.next_open,
            "slippage_bps": str(self.slippage_bps),
            "latency_ms": self.latency_ms,
        }


AT_CLOSE = FillModel()  # the library's default: the signalling close, no slippage
# 1 ms: the service's own decision -> order time (bench.decision: simulator p99 1.34 ms,
# network excluded); against the real testnet, add the round trip (`--latency`).
MEASURED = FillModel(next_open=True, slippage_bps=Decimal("7.6"), latency_ms=1)
FILL_AT = ("next-open", "close")
MAX_LATENCY_MS = 60_000


def fill_model(at: str | None, slippage: str | None, latency: str | None = None) -> FillModel:
    """The model of `--fill` (next-open | close), `--slippage BPS` and `--latency MS`;
    MEASURED's values for what is not given."""
    next_open = MEASURED.next_open if at is None else at == "next-open"
    if at is not None and at not in FILL_AT:
        raise FillModelError(f"--fill {at!r}: one of {', '.join(FILL_AT)}")
    bps = MEASURED.slippage_bps
    if slippage is not None:
        try:
            bps = Decimal(slippage)
        except ArithmeticError:
            raise FillModelError(f"--slippage {slippage!r} is not a number") from None
        if not bps.is_finite() or not Decimal(0) <= bps <= Decimal(1000):
            raise FillModelError(f"--slippage {slippage!r}: between 0 and 1000 bps (10 %)")
    latency_ms = MEASURED.latency_ms
    if latency is not None:
        if not latency.isdecimal() or not 0 <= int(latency) <= MAX_LATENCY_MS:
            raise FillModelError(
                f"--latency {latency!r}: whole milliseconds, from 0 to {MAX_LATENCY_MS}"
            )
        latency_ms = int(latency)
    return FillModel(next_open, bps, latency_ms)
