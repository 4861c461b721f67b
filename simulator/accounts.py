"""Accounts per API key: balances (Decimal), orders, fills. MARKET and LIMIT orders.

Fills happen at the last traded price of the tape (a deep book: the simulator's own orders do
not move the price nor print on the public tape, so the same seed gives the same trades
whatever is ordered). Fill trade ids come from a separate sequence per symbol. A LIMIT order
that does not cross rests; it fills (as maker, at its price) once a later tape trade reaches
its price; this is checked lazily before any account read, which no client can tell apart.
Commission: `commission_rate` of what is received: a BUY pays in the base asset, a SELL in the
quote asset (Binance without BNB fee discount), rounded down to 8 decimals.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from decimal import Decimal

from simulator import errors
from simulator.config import SimulatorConfig, SymbolSpec
from simulator.money import EIGHT, floor_to_step, is_multiple
from simulator.state import MarketState

FIRST_ORDER_ID = 7_000_000
FIRST_FILL_ID = 50_000_000
_ID_CHARS = string.ascii_letters + string.digits


@dataclass
class Fill:
    trade_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_maker: bool


@dataclass
class Order:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    time: int
    status: str = "NEW"
    executed_qty: Decimal = Decimal(0)
    cumm_quote: Decimal = Decimal(0)
    update_time: int = 0
    fills: list[Fill] = field(default_factory=list)


@dataclass
class Account:
    free: dict[str, Decimal]
    locked: dict[str, Decimal]
    orders: list[Order] = field(default_factory=list)
    update_time: int = 0


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: str  # BUY | SELL
    type: str  # MARKET | LIMIT
    quantity: Decimal | None
    quote_qty: Decimal | None
    price: Decimal | None
    time_in_force: str | None
    client_order_id: str | None


class Accounts:
    """Every account, keyed by API key."""

    def __init__(self, config: SimulatorConfig, state: MarketState) -> None:
        self._config = config
        self._state = state
        self._rate = config.commission_rate
        self._ids = random.Random(f"{config.seed}:client-order-ids")
        self._next_order_id = FIRST_ORDER_ID
        self._next_fill_id = {s: FIRST_FILL_ID for s in state.specs}
        self._accounts: dict[str, Account] = {}
        self.reset()

    def reset(self) -> None:
        """A testnet reset: every account back to the initial balances, no orders, no fills.

        Order and fill ids keep growing (see docs/simulator-trading.md "Reset").
        """
        start = {asset: Decimal(amount) for asset, amount in self._config.initial_balances}
        for spec in self._state.specs.values():
            start.setdefault(spec.base, Decimal(0))
            start.setdefault(spec.quote, Decimal(0))
        self._accounts = {
            key: Account(dict(start), {a: Decimal(0) for a in start})
            for key in self._config.credentials()
        }

    def account(self, api_key: str) -> Account:
        self._match_resting(api_key)
        return self._accounts[api_key]

    def all_orders(self, api_key: str | None = None) -> list[Order]:
        keys = [api_key] if api_key is not None else list(self._accounts)
        return [o for k in keys for o in self.account(k).orders]

    # -- placing ---------------------------------------------------------------------------

    def place(self, api_key: str, req: OrderRequest) -> Order:
        account = self.account(api_key)
        tape = self._state.tape(req.symbol)
        spec = tape.spec
        now = self._state.advance()
        last = tape.last_price
        client_id = req.client_order_id or self._new_client_id()
        if any(o.client_order_id == client_id and o.status == "NEW" for o in account.orders):
            raise errors.duplicate_order()
        if req.type == "MARKET":
            qty = self._market_qty(spec, req, last)
            limit = Decimal(0)
        else:
            qty, limit = self._limit_qty(spec, req)
        marketable = req.type == "MARKET" or (limit >= last if req.side == "BUY" else limit <= last)
        # A marketable order pays the last price; a resting one reserves its limit price.
        cost_price = last if marketable else limit
        self._check_balance(account, spec, req.side, qty, qty * cost_price)
        order = Order(
            symbol=spec.symbol,
            order_id=self._next_order_id,
            client_order_id=client_id,
            side=req.side,
            type=req.type,
            time_in_force="GTC" if req.type == "MARKET" else (req.time_in_force or "GTC"),
            price=limit,
            orig_qty=qty,
            orig_quote_qty=req.quote_qty or Decimal(0),
            time=now,
            update_time=now,
        )
        self._next_order_id += 1
        account.orders.append(order)
        account.update_time = now
        if marketable:
            self._fill(account, spec, order, last, now, is_maker=False)
        else:
            self._lock(account, spec, order)
        return order

    def _market_qty(self, spec: SymbolSpec, req: OrderRequest, last: Decimal) -> Decimal:
        if req.quantity is not None and req.quote_qty is not None:
            raise errors.not_required("quoteOrderQty")
        if req.quote_qty is not None:
            if req.quote_qty <= 0:
                raise errors.illegal("quoteOrderQty")
            if req.quote_qty < spec.min_notional:
                raise errors.filter_failure("NOTIONAL")
            qty = floor_to_step(req.quote_qty / last, spec.step_size)
            if qty < spec.step_size:
                raise errors.filter_failure("LOT_SIZE")
            return qty
        if req.quantity is None:
            raise errors.ApiError(
                400,
                -1102,
                "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
            )
        qty = req.quantity
        self._check_lot(spec, qty)
        if qty > spec.market_max_qty:
            raise errors.filter_failure("MARKET_LOT_SIZE")
        if qty * self._state.tape(spec.symbol).avg_price(self._state.clock.now_ms()) < (
            spec.min_notional
        ):
            raise errors.filter_failure("NOTIONAL")
        return qty

    def _limit_qty(self, spec: SymbolSpec, req: OrderRequest) -> tuple[Decimal, Decimal]:
        if req.time_in_force is None:
            raise errors.missing("timeInForce")
        if req.time_in_force != "GTC":
            raise errors.ApiError(400, -1115, "Invalid timeInForce.")
        if req.quantity is None:
            raise errors.missing("quantity")
        if req.price is None:
            raise errors.missing("price")
        if req.price < spec.tick_size or not is_multiple(req.price, spec.tick_size):
            raise errors.filter_failure("PRICE_FILTER")
        self._check_lot(spec, req.quantity)
        if req.quantity * req.price < spec.min_notional:
            raise errors.filter_failure("NOTIONAL")
        return req.quantity, req.price

    @staticmethod
    def _check_lot(spec: SymbolSpec, qty: Decimal) -> None:
        if qty < spec.step_size or qty > spec.max_qty or not is_multiple(qty, spec.step_size):
            raise errors.filter_failure("LOT_SIZE")

    @staticmethod
    def _check_balance(
        account: Account, spec: SymbolSpec, side: str, qty: Decimal, cost: Decimal
    ) -> None:
        if side == "BUY" and cost > account.free.get(spec.quote, Decimal(0)):
            raise errors.insufficient_balance()
        if side == "SELL" and qty > account.free.get(spec.base, Decimal(0)):
            raise errors.insufficient_balance()

    def _new_client_id(self) -> str:
        return "".join(self._ids.choice(_ID_CHARS) for _ in range(22))

    # -- filling ---------------------------------------------------------------------------

    def _lock(self, account: Account, spec: SymbolSpec, order: Order) -> None:
        asset = spec.quote if order.side == "BUY" else spec.base
        amount = order.orig_qty * order.price if order.side == "BUY" else order.orig_qty
        account.free[asset] -= amount
        account.locked[asset] = account.locked.get(asset, Decimal(0)) + amount

    def _unlock(self, account: Account, spec: SymbolSpec, order: Order) -> None:
        asset = spec.quote if order.side == "BUY" else spec.base
        amount = order.orig_qty * order.price if order.side == "BUY" else order.orig_qty
        account.locked[asset] -= amount
        account.free[asset] += amount

    def _fill(
        self,
        account: Account,
        spec: SymbolSpec,
        order: Order,
        price: Decimal,
        now: int,
        is_maker: bool,
    ) -> None:
        qty = order.orig_qty
        quote = qty * price
        if order.side == "BUY":
            commission = (qty * self._rate).quantize(EIGHT, rounding="ROUND_DOWN")
            account.free[spec.base] = account.free.get(spec.base, Decimal(0)) + qty - commission
            account.free[spec.quote] -= quote
            asset = spec.base
        else:
            commission = (quote * self._rate).quantize(EIGHT, rounding="ROUND_DOWN")
            account.free[spec.base] -= qty
            account.free[spec.quote] = account.free.get(spec.quote, Decimal(0)) + quote - commission
            asset = spec.quote
        fill_id = self._next_fill_id[spec.symbol]
        self._next_fill_id[spec.symbol] += 1
        order.fills.append(Fill(fill_id, price, qty, commission, asset, now, is_maker))
        order.executed_qty = qty
        order.cumm_quote = quote
        order.status = "FILLED"
        order.update_time = now
        account.update_time = now

    def _match_resting(self, api_key: str) -> None:
        account = self._accounts[api_key]
        resting = [o for o in account.orders if o.status == "NEW"]
        if not resting:
            return
        self._state.advance()
        for order in resting:
            tape = self._state.tapes[order.symbol]
            for trade in tape.between(order.time + 1, None, len(tape.trades)):
                crossed = (
                    trade.price <= order.price
                    if order.side == "BUY"
                    else trade.price >= order.price
                )
                if crossed:
                    spec = tape.spec
                    self._unlock(account, spec, order)
                    self._fill(account, spec, order, order.price, trade.time, is_maker=True)
                    break

    # -- finding and canceling -------------------------------------------------------------

    def find(
        self, api_key: str, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Order:
        """The order by id or client id (the latest one with that client id); else -2013."""
        for order in reversed(self.account(api_key).orders):
            if order.symbol != symbol:
                continue
            if order_id is not None and order.order_id != order_id:
                continue
            if client_order_id is not None and order.client_order_id != client_order_id:
                continue
            return order
        raise errors.no_such_order()

    def cancel(
        self,
        api_key: str,
        symbol: str,
        order_id: int | None,
        client_order_id: str | None,
        new_client_id: str | None,
    ) -> tuple[Order, str]:
        """Cancels a NEW order; returns it and the cancel's own client order id."""
        try:
            order = self.find(api_key, symbol, order_id, client_order_id)
        except errors.ApiError:
            raise errors.unknown_order() from None
        if order.status != "NEW":
            raise errors.unknown_order()
        account = self._accounts[api_key]
        self._unlock(account, self._state.specs[symbol], order)
        order.status = "CANCELED"
        order.update_time = self._state.clock.now_ms()
        return order, new_client_id or self._new_client_id()
