"""Where a backtest's market order fills: the fill model (docs/backtests.md, "Fill model").

Sans-I/O. A live market order reaches the book after the signal, at a price the strategy did
not see: the close of the signalling candle is the price the backtest must not promise.

- `next_open`: with candle data, an order the strategy asks for at a candle's close fills at
  the next candle's open of that symbol (an order at the last candle does not fill: no price
  comes after it). Off: at the signalling close (the backtest's model before this one; the
  library default, which the tests of the live classes use).
- `slippage_bps`: the fill is that price moved against the order, BUY up and SELL down, by
  this many basis points (0.01 %): spread, impact, the price moving while the order travels.
  Stops (a SELL at the stop level or the gapped open) slip too; the end-of-data sale (a
  valuation at the last close) does not.

The defaults of the command line (`MEASURED`) are the measured behaviour: live signal fills
under `--simulate` came 7.6 bps worse on average than the signalling candle's close
(issue "Research that scales", measured on the built-in simulator's market).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.errors import BadInputError
from strategy.models import Side

_BPS = Decimal(10_000)


class FillModelError(BadInputError):
    """A fill-model option that cannot be used."""


@dataclass(frozen=True, slots=True)
class FillModel:
    next_open: bool = False
    slippage_bps: Decimal = Decimal(0)

    def price(self, side: Side, reference: Decimal) -> Decimal:
        """The fill price of a market order of `side` whose model price is `reference`."""
        if not self.slippage_bps:
            return reference
        move = reference * self.slippage_bps / _BPS
        return reference + move if side is Side.BUY else reference - move

    def describe(self) -> str:
        at = "the next candle's open" if self.next_open else "the signalling close"
        return f"fills at {at} + {self.slippage_bps} bps slippage"

    def to_json(self) -> dict[str, object]:
        return {"next_open": self.next_open, "slippage_bps": str(self.slippage_bps)}


AT_CLOSE = FillModel()  # the library's default: the signalling close, no slippage
MEASURED = FillModel(next_open=True, slippage_bps=Decimal("7.6"))
FILL_AT = ("next-open", "close")


def fill_model(at: str | None, slippage: str | None) -> FillModel:
    """The model of `--fill` (next-open | close) and `--slippage BPS`; MEASURED's values for
    what is not given."""
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
    return FillModel(next_open, bps)
