"""Execution's domain objects: order intents, their outcomes, positions. Decimal money.

`OrderRecord` is the one shape of an order everywhere; `execution.codec` turns it into the
journal's line and back. The hub carries these objects; the API serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from strategy.models import Side, SignalReason

_ZERO = Decimal(0)


class OrderStatus(StrEnum):
    INTENT = "intent"  # journaled, about to be sent
    FILLED = "filled"
    REJECTED = "rejected"  # by our checks (no request sent) or by the exchange
    ABANDONED = "abandoned"  # an intent found never to have reached the exchange after a crash
    OPEN = "open"  # a stop order the exchange accepted: resting until it triggers or is canceled
    CANCELED = "canceled"  # a stop order canceled (before an exit, or replaced)


class Mode(StrEnum):
    PAPER = "paper"
    TESTNET = "testnet"
    SIMULATED = "simulated"  # the testnet broker pointed at the local simulator, or a backtest


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class BrokerFill:
    """What a broker reports for an executed MARKET order (from `fills` or a paper fill)."""

    exchange_order_id: int
    client_order_id: str
    executed_qty: Decimal
    quote_qty: Decimal
    avg_price: Decimal
    commission: Decimal
    commission_asset: str
    fill_time_ms: int
    status: str = "FILLED"


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """What the exchange says of an order that may rest on its book (a stop): Binance's
    status (NEW, FILLED, CANCELED, EXPIRED, …) and, once executed, its fill."""

    exchange_order_id: int
    status: str
    fill: BrokerFill | None = None

    @property
    def live(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED", "PENDING_NEW")


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """One order, the same typed record from the decision to the journal line, the hub event,
    REST and /ws. An `intent` is journaled (durably) before the request; its outcome is the
    same record moved to `filled`, `rejected` or `abandoned` (see `filled_by`, `refused`).
    The journal's line format is `execution.codec`'s alone."""

    status: OrderStatus
    client_order_id: str
    variant: str
    symbol: str
    side: Side
    quantity: Decimal
    reason: SignalReason
    mode: str
    signal_time_ms: int
    time_ms: int
    closing: bool = False  # sells the whole position (a strategy exit, a stop, a manual close)
    ref: int = 0  # what made the decision (candle open time, trade id, manual counter)
    price_hint: Decimal | None = None  # the price the decision saw (not an order price)
    exchange_order_id: int | None = None
    executed_qty: Decimal = _ZERO
    avg_price: Decimal | None = None
    quote_qty: Decimal = _ZERO
    commission: Decimal = _ZERO
    commission_asset: str | None = None
    fill_time_ms: int | None = None
    realized_pnl: Decimal | None = None  # on a SELL: proceeds minus the average cost sold
    error_code: int | None = None
    error: str | None = None
    order_type: str = "MARKET"  # or "STOP_LOSS": a stop resting on the exchange (STOP_MODE)
    stop_price: Decimal | None = None

    @property
    def filled(self) -> bool:
        return self.status is OrderStatus.FILLED

    def with_pnl(self, pnl: Decimal | None) -> OrderRecord:
        return self._filled(self.time_ms, self.exchange_order_id, self.executed_qty,
                            self.avg_price, self.quote_qty, self.commission,
                            self.commission_asset, self.fill_time_ms, pnl)  # fmt: skip

    def filled_by(self, fill: BrokerFill, now_ms: int) -> OrderRecord:
        """This intent, executed as the exchange reports in `fill`."""
        return self._filled(now_ms, fill.exchange_order_id, fill.executed_qty, fill.avg_price,
                            fill.quote_qty, fill.commission, fill.commission_asset,
                            fill.fill_time_ms or now_ms, self.realized_pnl)  # fmt: skip

    def _filled(
        self, time_ms: int, exchange_order_id: int | None, executed_qty: Decimal,
        avg_price: Decimal | None, quote_qty: Decimal, commission: Decimal,
        commission_asset: str | None, fill_time_ms: int | None, pnl: Decimal | None,
    ) -> OrderRecord:  # fmt: skip
        """The filled record, built field by field: every fill of a backtest comes through
        here, and `dataclasses.replace` costs twice as much."""
        return OrderRecord(
            OrderStatus.FILLED, self.client_order_id, self.variant, self.symbol, self.side,
            self.quantity, self.reason, self.mode, self.signal_time_ms, time_ms, self.closing,
            self.ref, self.price_hint, exchange_order_id, executed_qty, avg_price, quote_qty,
            commission, commission_asset, fill_time_ms, pnl, self.error_code, self.error,
            self.order_type, self.stop_price,
        )  # fmt: skip

    def resting(self, exchange_order_id: int, now_ms: int) -> OrderRecord:
        """This stop intent, accepted by the exchange and resting there."""
        return replace(
            self, status=OrderStatus.OPEN, time_ms=now_ms, exchange_order_id=exchange_order_id
        )

    def canceled(self, now_ms: int, why: str) -> OrderRecord:
        return replace(self, status=OrderStatus.CANCELED, time_ms=now_ms, error=why)

    def refused(
        self, why: str, code: int | None, now_ms: int, abandoned: bool = False
    ) -> OrderRecord:
        """This intent, rejected (by our checks or the exchange) or abandoned after a crash."""
        status = OrderStatus.ABANDONED if abandoned else OrderStatus.REJECTED
        return replace(self, status=status, time_ms=now_ms, error_code=code, error=why)


@dataclass(frozen=True, slots=True)
class Position:
    """What one variant holds of one symbol, built only from the exchange's fills.

    `held_qty` is every base unit the variant holds (after base-asset commissions); `qty` is
    the part on the LOT_SIZE step, i.e. what can be sold; `dust` the rest. Dust is an asset
    valued at market, never a loss: it keeps its share of the cost and joins the next exit
    once it reaches a step. `cost_quote` is the average cost of `held_qty` (quote spent,
    fees included); `entry_price` the average fill price of what is held (stops use it).
    `spent_quote` / `received_quote` are the totals of BUYs (with quote fees) and SELLs (net of
    quote fees), so realized + unrealized == received − spent + held_qty × last, exactly.
    """

    variant: str
    symbol: str
    qty: Decimal = _ZERO
    held_qty: Decimal = _ZERO
    entry_price: Decimal | None = None
    cost_quote: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    spent_quote: Decimal = _ZERO
    received_quote: Decimal = _ZERO
    fees_quote: Decimal = _ZERO  # commissions valued in quote at their fill's price
    trades: int = 0
    updated_ms: int = 0

    @property
    def is_open(self) -> bool:
        return self.qty > 0

    @property
    def dust(self) -> Decimal:
        return self.held_qty - self.qty

    def unrealized_pnl(self, last_price: Decimal | None) -> Decimal | None:
        """Everything held (dust included) at `last_price`, minus its cost."""
        if self.held_qty == 0:
            return _ZERO
        if last_price is None:
            return None
        return self.held_qty * last_price - self.cost_quote

    def market_value(self, last_price: Decimal | None) -> Decimal:
        return self.held_qty * last_price if last_price is not None else self.cost_quote
