"""Execution's domain objects: order intents, their outcomes, positions. Decimal money.

`to_dict()` gives JSON-ready values (decimals as strings, times as epoch ms); the same dicts
are the journal's lines and the hub's `order` / `trade` / `position` event data.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from strategy.models import Side, SignalReason

_ZERO = Decimal(0)


class OrderStatus(StrEnum):
    INTENT = "intent"  # journaled, about to be sent
    FILLED = "filled"
    REJECTED = "rejected"  # by our checks (no request sent) or by the exchange
    ABANDONED = "abandoned"  # an intent found never to have reached the exchange after a crash


class Mode(StrEnum):
    PAPER = "paper"
    TESTNET = "testnet"
    SIMULATED = "simulated"  # the testnet broker pointed at the local simulator, or a backtest


_INTENT = OrderStatus.INTENT.value


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order about to be sent: journaled (durably) before the request."""

    client_order_id: str
    variant: str
    symbol: str
    side: Side
    quantity: Decimal
    reason: SignalReason
    mode: str
    signal_time_ms: int
    ref: int
    closing: bool  # sells the whole position (a strategy exit, a stop, a manual close)
    created_ms: int
    price_hint: Decimal | None = None  # the price the decision saw (not an order price)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": _INTENT,
            "client_order_id": self.client_order_id,
            "variant": self.variant,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": str(self.quantity),
            "reason": self.reason.value,
            "mode": self.mode,
            "signal_time": self.signal_time_ms,
            "ref": self.ref,
            "closing": self.closing,
            "time": self.created_ms,
            "price_hint": _s(self.price_hint),
        }


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
class OrderOutcome:
    """What became of an order: filled, rejected (code and reason) or abandoned."""

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
    closing: bool = False
    exchange_order_id: int | None = None
    executed_qty: Decimal = _ZERO
    avg_price: Decimal | None = None
    quote_qty: Decimal = _ZERO
    commission: Decimal = _ZERO
    commission_asset: str | None = None
    fill_time_ms: int | None = None
    realized_pnl: Decimal | None = None  # on a closing (or reducing) SELL
    error_code: int | None = None
    error: str | None = None

    @property
    def filled(self) -> bool:
        return self.status is OrderStatus.FILLED

    def with_pnl(self, pnl: Decimal | None) -> OrderOutcome:
        """The same outcome with its realized P&L (built whole: dataclasses.replace is slow
        and this runs for every closing fill)."""
        return OrderOutcome(
            self.status, self.client_order_id, self.variant, self.symbol, self.side,
            self.quantity, self.reason, self.mode, self.signal_time_ms, self.time_ms,
            self.closing, self.exchange_order_id, self.executed_qty, self.avg_price,
            self.quote_qty, self.commission, self.commission_asset, self.fill_time_ms, pnl,
            self.error_code, self.error,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": self.status.value,
            "client_order_id": self.client_order_id,
            "variant": self.variant,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": str(self.quantity),
            "reason": self.reason.value,
            "mode": self.mode,
            "signal_time": self.signal_time_ms,
            "time": self.time_ms,
            "closing": self.closing,
        }
        if self.status is OrderStatus.FILLED:
            record["exchange_order_id"] = self.exchange_order_id
            record["executed_qty"] = str(self.executed_qty)
            record["avg_price"] = _s(self.avg_price)
            record["quote_qty"] = str(self.quote_qty)
            record["commission"] = str(self.commission)
            record["commission_asset"] = self.commission_asset
            record["fill_time"] = self.fill_time_ms
            record["realized_pnl"] = _s(self.realized_pnl)
        else:
            record["code"] = self.error_code
            record["error"] = self.error
        return record

    @classmethod
    def from_dict(cls, rec: dict[str, Any]) -> OrderOutcome:
        """A journal line back into an outcome (raises KeyError/ValueError when malformed)."""

        def dec(key: str) -> Decimal | None:
            value = rec.get(key)
            return None if value is None else Decimal(str(value))

        return cls(
            status=OrderStatus(rec["type"]),
            client_order_id=str(rec["client_order_id"]),
            variant=str(rec["variant"]),
            symbol=str(rec["symbol"]),
            side=Side(rec["side"]),
            quantity=Decimal(str(rec["quantity"])),
            reason=SignalReason(rec["reason"]),
            mode=str(rec["mode"]),
            signal_time_ms=int(rec["signal_time"]),
            time_ms=int(rec["time"]),
            closing=bool(rec.get("closing", False)),
            exchange_order_id=rec.get("exchange_order_id"),
            executed_qty=dec("executed_qty") or _ZERO,
            avg_price=dec("avg_price"),
            quote_qty=dec("quote_qty") or _ZERO,
            commission=dec("commission") or _ZERO,
            commission_asset=rec.get("commission_asset"),
            fill_time_ms=rec.get("fill_time"),
            realized_pnl=dec("realized_pnl"),
            error_code=rec.get("code"),
            error=rec.get("error"),
        )


@dataclass(frozen=True, slots=True)
class Position:
    """A long-only spot position of one (variant, symbol), built from actual fills.

    `qty` is what can be sold (after base-asset commissions); `entry_price` the average fill
    price of the open quantity; `cost_quote` what it cost including fees; `dust` what was left
    below the LOT_SIZE step after a closing sale (unsellable, not part of the position).
    """

    variant: str
    symbol: str
    qty: Decimal = _ZERO
    entry_price: Decimal | None = None
    cost_quote: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    dust: Decimal = _ZERO
    trades: int = 0
    updated_ms: int = 0

    @property
    def is_open(self) -> bool:
        return self.qty > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "symbol": self.symbol,
            "qty": str(self.qty),
            "entry_price": _s(self.entry_price),
            "cost_quote": str(self.cost_quote),
            "realized_pnl": str(self.realized_pnl),
            "dust": str(self.dust),
            "trades": self.trades,
            "updated": self.updated_ms,
        }


def filled_outcome(intent: OrderIntent, fill: BrokerFill, now_ms: int) -> OrderOutcome:
    return OrderOutcome(
        status=OrderStatus.FILLED, client_order_id=intent.client_order_id,
        variant=intent.variant, symbol=intent.symbol, side=intent.side,
        quantity=intent.quantity, reason=intent.reason, mode=intent.mode,
        signal_time_ms=intent.signal_time_ms, time_ms=now_ms, closing=intent.closing,
        exchange_order_id=fill.exchange_order_id, executed_qty=fill.executed_qty,
        avg_price=fill.avg_price, quote_qty=fill.quote_qty, commission=fill.commission,
        commission_asset=fill.commission_asset, fill_time_ms=fill.fill_time_ms or now_ms,
    )  # fmt: skip


def rejected_outcome(
    intent: OrderIntent, why: str, code: int | None, now_ms: int, abandoned: bool = False
) -> OrderOutcome:
    return OrderOutcome(
        status=OrderStatus.ABANDONED if abandoned else OrderStatus.REJECTED,
        client_order_id=intent.client_order_id, variant=intent.variant, symbol=intent.symbol,
        side=intent.side, quantity=intent.quantity, reason=intent.reason, mode=intent.mode,
        signal_time_ms=intent.signal_time_ms, time_ms=now_ms, closing=intent.closing,
        error_code=code, error=why,
    )  # fmt: skip
