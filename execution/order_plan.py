"""From a signal to the order it asks for, or the reason none is sent. Pure: no I/O, no clock.

The live executor (`execution.executor`) and the backtest (`backtest.orders`) both decide with
`plan_order`, so they size, refuse and name orders alike. The checks, in order:

1. the symbol's rules are known (else the exchange's error refuses it);
2. size: a BUY takes the requested quantity, else the symbol's ORDER_QUANTITIES entry, else
   ORDER_QUOTE_DEFAULT worth at the price; an exit sells everything held (dust left by earlier
   exits joins once it fills a LOT_SIZE step); both rounded down to the step;
3. the same decision (client order id) is never sent twice: refused without a journal line
   (the first one is already there);
4. long-only: a SELL cannot sell more than is held;
5. a BUY: not while its variant is paused, within the risk limits, and paid from its cash;
6. the exchange's filters for a MARKET order (LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL).
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from decimal import Decimal

from execution.accounts import Accounts
from execution.errors import ExchangeError
from execution.ids import client_order_id
from execution.models import OrderRecord, OrderStatus, Position
from execution.numbers import plain
from execution.risk import RiskManager
from execution.rules import SymbolRules
from strategy.engine import ACTION_CLOSE, ACTION_OPEN
from strategy.models import Side, SignalRaised, SignalReason

_ZERO = Decimal(0)
ACTIONABLE = frozenset({ACTION_OPEN, ACTION_CLOSE})  # the signal actions that ask for an order


@dataclass(frozen=True, slots=True)
class Sizing:
    """How large an entry is: per symbol (ORDER_QUANTITIES), else a quote amount's worth."""

    quantities: Mapping[str, Decimal]
    quote_default: Decimal

    @classmethod
    def of(cls, quantities: Mapping[str, Decimal], quote_default: Decimal) -> Sizing:
        """ORDER_QUANTITIES (any case of symbol) and ORDER_QUOTE_DEFAULT."""
        return cls({k.upper(): v for k, v in quantities.items()}, quote_default)

    def entry_qty(self, symbol: str, price: Decimal | None) -> Decimal:
        qty = self.quantities.get(symbol)
        if qty is not None:
            return qty
        return self.quote_default / price if price else _ZERO


@dataclass(frozen=True, slots=True)
class Refusal:
    """An order refused before it was sent; `journaled` False for a repeated decision (its
    first occurrence is in the journal already)."""

    record: OrderRecord
    journaled: bool = True


def nothing_to_close(variant: str, symbol: str) -> str:
    """Why a person's close did nothing: the position is flat (another exit came first)."""
    return f"{variant} holds no {symbol} position to close"


def plan_order(
    signal: SignalRaised,
    *,
    requested: Decimal | None,
    held: Position,
    rules: SymbolRules | ExchangeError,
    price: Decimal | None,
    sizing: Sizing,
    seen: Container[str],
    paused: str | None,
    risk: RiskManager,
    accounts: Accounts | None,
    mode: str,
    now_ms: int,
) -> OrderRecord | Refusal:
    """The intent to send (status `intent`), or the refusal. `requested`: a person's quantity
    (None: sized here); `price`: the price the order is checked at (None: unknown); `paused`:
    why the variant takes no entries now (None: it does)."""
    s = signal
    closing = False

    def refuse(qty: Decimal, why: str, code: int | None = None, cid: str = "") -> Refusal:
        record = OrderRecord(
            status=OrderStatus.REJECTED, client_order_id=cid, variant=s.variant, symbol=s.symbol,
            side=s.side, quantity=qty, reason=s.reason, mode=mode, signal_time_ms=s.time_ms,
            time_ms=now_ms, closing=closing, ref=s.ref, price_hint=s.price, error_code=code,
            error=why,
        )  # fmt: skip
        return Refusal(record, journaled=not why.startswith("duplicate decision"))

    if isinstance(rules, ExchangeError):
        return refuse(_ZERO, str(rules), rules.code)
    if s.side is Side.BUY:
        qty = rules.round_qty(requested or sizing.entry_qty(s.symbol, price))
    else:
        qty = rules.round_qty(requested if requested is not None else held.held_qty)
        closing = requested is None or qty >= rules.round_qty(held.held_qty)
    cid = client_order_id(s.variant, s.symbol, s.reason, s.ref, s.side)
    if cid in seen:
        return refuse(qty, f"duplicate decision {cid}", cid=cid)
    why: str | None = None
    if s.side is Side.SELL and requested is None and qty <= 0 and s.reason is SignalReason.MANUAL:
        # A person's close that lost a race with another exit: nothing happened, say so.
        return Refusal(refuse(qty, nothing_to_close(s.variant, s.symbol), cid=cid).record, False)
    if s.side is Side.SELL:
        if qty <= 0 or qty > held.held_qty:
            why = f"long-only: holding {plain(held.held_qty)}, cannot sell {plain(qty)}"
    elif paused is not None:
        why = f"variant {s.variant} is paused: {paused}"
    else:
        why = risk.check_entry(s.variant, s.symbol, qty, price, held.held_qty)
        if why is None and accounts is not None and price is not None:
            why = accounts.can_spend(s.variant, qty * price)
    if why is None:
        why = rules.check_market(qty, price)
    if why is not None:
        return refuse(qty, why, cid=cid)
    return OrderRecord(
        status=OrderStatus.INTENT, client_order_id=cid, variant=s.variant, symbol=s.symbol,
        side=s.side, quantity=qty, reason=s.reason, mode=mode, signal_time_ms=s.time_ms,
        time_ms=now_ms, closing=closing, ref=s.ref, price_hint=s.price,
    )  # fmt: skip
