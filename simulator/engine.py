"""The matching engine: places, triggers, fills, expires and cancels orders against the tape.

The simulator's own orders never move the price, the book nor the public tape, so a seed gives
the same trades whatever is ordered. Prices:
- a MARKET order takes the book (book.py): a BUY lifts the asks from the best one up, a SELL
  hits the bids from the best one down, one fill per level it reaches, so spread and slippage
  are there as live (the book's depth covers any size; beyond its 100 levels the rest fills at
  the last level's price);
- a LIMIT order crosses when it reaches the opposite best price (a BUY at or above the best
  ask, a SELL at or below the best bid), not the last trade: it fills at that best price, as
  taker; a LIMIT_MAKER that would cross is rejected; one at the touch rests;
- a triggered STOP_LOSS / TAKE_PROFIT fills at the trade that triggered it, as taker;
- a resting limit order fills at its own price, as maker, as soon as a tape trade reaches it;
- a stop order (STOP_LOSS*, TAKE_PROFIT*) triggers on the first tape trade at or through its
  stopPrice (STOP_LOSS SELL / TAKE_PROFIT BUY: price <= stopPrice; STOP_LOSS BUY /
  TAKE_PROFIT SELL: price >= stopPrice); its market or limit order then works from that trade.
Every change is handed to the user-data hub as Binance's events, when it happens: the engine
listens to the tape (MarketState.listeners), so fills do not wait for a client's request.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from simulator import errors
from simulator.accounts import Accounts
from simulator.config import SymbolSpec
from simulator.filters import OpenCounts, SymbolFilters
from simulator.market import Trade
from simulator.money import floor_to_step
from simulator.order_types import rejected
from simulator.orders import ZERO, Fill, Order, OrderList, OrderRequest
from simulator.state import MarketState
from simulator.user_data import (
    UserDataHub,
    account_position,
    balance_update,
    execution_report,
    list_status,
)

IMMEDIATE = "Order would immediately match and take."
WOULD_TRIGGER = "Order would trigger immediately."
BOOK_LEVELS = 100  # how deep a MARKET order looks into the book
_BELOW = {("STOP_LOSS", "SELL"), ("TAKE_PROFIT", "BUY")}  # trigger when price <= stopPrice


def _base_type(order_type: str) -> str:
    return order_type.removesuffix("_LIMIT")


def triggers(order_type: str, side: str, stop: Decimal, price: Decimal) -> bool:
    """Does a trade at `price` trigger this stop order?"""
    if (_base_type(order_type), side) in _BELOW:
        return price <= stop
    return price >= stop


def crosses(side: str, limit: Decimal, price: Decimal) -> bool:
    """Would a limit order at `limit` trade against a price of `price`?"""
    return limit >= price if side == "BUY" else limit <= price


class Engine:
    """Orders of every account against the market's tapes."""

    def __init__(self, state: MarketState, accounts: Accounts, hub: UserDataHub) -> None:
        self._state = state
        self.accounts = accounts
        self.hub = hub
        self.filters = {s: SymbolFilters(spec) for s, spec in state.specs.items()}
        self._book: dict[str, list[Order]] = {s: [] for s in state.specs}
        self._execution_id = 0
        self.on_order: Callable[[str], None] | None = None  # counts placed orders per key
        state.listeners.append(self.on_trades)

    def reset(self) -> None:
        """A testnet reset (see Accounts.reset); the book empties with the orders.

        Subscribers hear it as deposits: a `balanceUpdate` per asset whose total changed,
        then one `outboundAccountPosition` with every asset.
        """
        before = {key: self._totals(key) for key in self.accounts.api_keys()}
        self.accounts.reset()
        for orders in self._book.values():
            orders.clear()
        now = self._state.clock.now_ms()
        for key, totals in before.items():
            if not self.hub.has_subscribers(key):
                continue
            after = self._totals(key)
            for asset in sorted(after):
                delta = after[asset] - totals.get(asset, ZERO)
                if delta:
                    self.hub.publish(key, balance_update(asset, delta, now))
            account = self.accounts.account(key)
            account.update_time = now
            self.hub.publish(key, account_position(account, sorted(after), now))

    def _totals(self, api_key: str) -> dict[str, Decimal]:
        account = self.accounts.account(api_key)
        return {a: f + account.locked.get(a, ZERO) for a, f in account.free.items()}

    def last_price(self, symbol: str) -> Decimal:
        self._state.advance()
        return self._state.tapes[symbol].last_price

    # -- placing ---------------------------------------------------------------------------

    def counts(self, api_key: str, symbol: str) -> OpenCounts:
        open_orders = self.accounts.open_orders(api_key, symbol)
        lists = {o.order_list_id for o in open_orders if o.order_list_id >= 0}
        algo = sum(1 for o in open_orders if o.is_algo)
        return OpenCounts(len(open_orders), algo, len(lists))

    def quantity(self, req: OrderRequest, last: Decimal) -> Decimal:
        """The base quantity (MARKET with quoteOrderQty: as much as the quote buys)."""
        if req.quantity is not None:
            return req.quantity
        assert req.quote_qty is not None
        spec = self._state.specs[req.symbol]
        qty = floor_to_step(req.quote_qty / last, spec.step_size)
        if qty <= 0:
            raise errors.filter_failure("LOT_SIZE")
        return qty

    def validate(self, api_key: str, req: OrderRequest, new_orders: int = 1) -> Decimal:
        """Every check of a new order (filters, prices, balance); returns its quantity."""
        self._state.advance()
        tape = self._state.tapes[req.symbol]
        last = tape.last_price
        qty = self.quantity(req, last)
        flt = self.filters[req.symbol]
        avg = tape.avg_price(self._state.clock.now_ms(), flt.avg_price_mins("NOTIONAL"))
        flt.check(req, qty, avg, self.counts(api_key, req.symbol), new_orders)
        limit_maker = req.type == "LIMIT_MAKER" and req.price is not None
        if (
            limit_maker
            and req.price is not None
            and self._crosses_book(req.symbol, req.side, req.price)
        ):
            raise rejected(IMMEDIATE)
        if req.stop_price is not None and triggers(req.type, req.side, req.stop_price, last):
            raise rejected(WOULD_TRIGGER)
        if req.client_order_id is not None and any(
            o.client_order_id == req.client_order_id
            for o in self.accounts.open_orders(api_key, req.symbol)
        ):
            raise errors.duplicate_order()
        asset, amount = self._reserve(req, qty, last)
        if not self.accounts.can_afford(api_key, asset, amount):
            raise errors.insufficient_balance()
        return qty

    def _reserve(self, req: OrderRequest, qty: Decimal, last: Decimal) -> tuple[str, Decimal]:
        """What the order needs free: the base it sells, or the quote it may spend."""
        spec = self._state.specs[req.symbol]
        if req.side == "SELL":
            return spec.base, qty
        if req.type == "MARKET":
            return spec.quote, req.quote_qty if req.quote_qty is not None else qty * last
        if req.type in ("STOP_LOSS", "TAKE_PROFIT"):
            return spec.quote, qty * (req.stop_price or last)
        assert req.price is not None
        marketable = req.stop_price is None and crosses("BUY", req.price, last)
        return spec.quote, qty * (last if marketable else req.price)

    def place(self, api_key: str, req: OrderRequest) -> Order:
        qty = self.validate(api_key, req)
        order = self._new_order(api_key, req, qty)
        self._start(order)
        return order

    def _new_order(self, api_key: str, req: OrderRequest, qty: Decimal, list_id: int = -1) -> Order:
        now = self._state.clock.now_ms()
        order = Order(
            api_key=api_key,
            symbol=req.symbol,
            order_id=self.accounts.new_order_id(),
            client_order_id=req.client_order_id or self.accounts.new_client_id(),
            side=req.side,
            type=req.type,
            time_in_force=req.time_in_force or "GTC",
            price=req.price or ZERO,
            orig_qty=qty,
            orig_quote_qty=req.quote_qty or ZERO,
            time=now,
            stop_price=req.stop_price or ZERO,
            iceberg_qty=req.iceberg_qty,
            stp_mode=req.stp_mode,
            strategy_id=req.strategy_id,
            strategy_type=req.strategy_type,
            order_list_id=list_id,
            update_time=now,
            working=req.stop_price is None,
        )
        self.accounts.account(api_key).orders.append(order)
        if self.on_order is not None:
            self.on_order(api_key)
        return order

    def _start(self, order: Order) -> None:
        """A new order reaches the book: it trades, rests, waits for its trigger or expires."""
        now = order.time
        self._report(order, "NEW", now)
        if not order.working:
            self._lock(order, order.price or order.stop_price)
            self._book[order.symbol].append(order)
            self._positions(order, now)
            return
        order.working_time = now
        if order.type == "MARKET":
            self._take(order, now)
        elif self._crosses_book(order.symbol, order.side, order.price):
            self._fill(order, self._touch(order.symbol, order.side), now, maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            self._expire(order, now, _unfilled(order.time_in_force))
        else:
            self._lock(order, order.price)
            self._book[order.symbol].append(order)
            self._positions(order, now)

    def _touch(self, symbol: str, side: str) -> Decimal:
        """The best opposite price: the ask a BUY meets, the bid a SELL meets."""
        bid, _, ask, _ = self._state.books[symbol].best()
        return ask if side == "BUY" else bid

    def _crosses_book(self, symbol: str, side: str, price: Decimal) -> bool:
        """Would a limit order at `price` trade now (judged against the book, not the tape)?"""
        return crosses(side, price, self._touch(symbol, side))

    def _take(self, order: Order, now: int) -> None:
        """A MARKET order through the book's levels, one fill per level (see the docstring)."""
        bids, asks = self._state.books[order.symbol].top(BOOK_LEVELS)
        levels = [(Decimal(p), Decimal(q)) for p, q in (asks if order.side == "BUY" else bids)]
        left = order.orig_qty - order.executed_qty
        plan: list[tuple[Decimal, Decimal]] = []
        for price, available in levels:
            take = min(left, available)
            plan.append((price, take))
            left -= take
            if left <= 0:
                break
        if left > 0:
            plan.append((levels[-1][0], left))
        spec = self._state.specs[order.symbol]
        cost = sum((price * qty for price, qty in plan), ZERO)
        if order.side == "BUY" and not self.accounts.can_afford(order.api_key, spec.quote, cost):
            self._release_list(order)
            self._expire(order, now, "INSUFFICIENT_LIQUIDITY")
            return
        self._release_list(order)
        for price, qty in plan:
            fill = self.accounts.apply_fill(order, spec, price, qty, now, maker=False)
            self._report(order, "TRADE", now, fill)
        self._positions(order, now)
        self._expire_siblings(order, now)

    def rest(self, order: Order) -> None:
        """A restored stop (see restore.py) back on the book, its base locked, silently."""
        self._lock(order, order.price or order.stop_price)
        self._book[order.symbol].append(order)

    def _lock(self, order: Order, price: Decimal) -> None:
        spec = self._state.specs[order.symbol]
        if order.side == "SELL":
            self.accounts.lock(order, spec.base, order.orig_qty - order.executed_qty)
        else:
            self.accounts.lock(order, spec.quote, (order.orig_qty - order.executed_qty) * price)

    # -- the tape --------------------------------------------------------------------------

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        book = self._book.get(symbol)
        if not book:
            return
        for trade in trades:
            for order in list(book):
                if not order.is_open:
                    continue
                if not order.working:
                    if triggers(order.type, order.side, order.stop_price, trade.price):
                        self._trigger(order, trade)
                elif crosses(order.side, order.price, trade.price):
                    self._unbook(order)
                    self._fill(order, order.price, trade.time, maker=True)

    def _trigger(self, order: Order, trade: Trade) -> None:
        now = trade.time
        order.working, order.working_time, order.update_time = True, now, now
        self._expire_siblings(order, now)
        self.accounts.release(order)
        if order.type in ("STOP_LOSS", "TAKE_PROFIT") or crosses(
            order.side, order.price, trade.price
        ):
            self._unbook(order)
            self._fill(order, trade.price, now, maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            self._unbook(order)
            self._expire(order, now, _unfilled(order.time_in_force))
        else:
            self._lock(order, order.price)
            self._report(order, "NEW", now)
            self._positions(order, now)

    # -- outcomes --------------------------------------------------------------------------

    def _fill(self, order: Order, price: Decimal, now: int, maker: bool) -> None:
        spec = self._state.specs[order.symbol]
        self._release_list(order)
        qty = order.orig_qty - order.executed_qty
        if order.side == "BUY" and not self.accounts.can_afford(
            order.api_key, spec.quote, qty * price
        ):
            self._expire(order, now, "INSUFFICIENT_LIQUIDITY")
            return
        fill = self.accounts.apply_fill(order, spec, price, qty, now, maker)
        self._report(order, "TRADE", now, fill)
        self._positions(order, now)
        self._expire_siblings(order, now)

    def _expire(self, order: Order, now: int, reason: str) -> None:
        self._unbook(order)
        self.accounts.release(order)
        order.status, order.update_time, order.expiry_reason = "EXPIRED", now, reason
        self._report(order, "EXPIRED", now)
        self._positions(order, now)

    def _expire_siblings(self, order: Order, now: int) -> None:
        """One leg of an OCO started working or traded: the other legs expire."""
        order_list = self.accounts.list_of(order)
        if order_list is None or not order_list.is_open:
            return
        for leg in order_list.orders:
            if leg is not order and leg.is_open:
                self._expire(leg, now, "OCO_TRIGGER")
        order_list.list_status_type = order_list.list_order_status = "ALL_DONE"
        self.hub.publish(order.api_key, list_status(order_list, now))

    def _release_list(self, order: Order) -> None:
        order_list = self.accounts.list_of(order)
        for leg in order_list.orders if order_list else [order]:
            self.accounts.release(leg)

    def _unbook(self, order: Order) -> None:
        book = self._book[order.symbol]
        if order in book:
            book.remove(order)

    # -- canceling -------------------------------------------------------------------------

    def cancel(self, order: Order, cancel_client_id: str | None = None) -> str:
        """Cancels an open order (and the rest of its order list); returns the cancel's id."""
        if not order.is_open:
            raise errors.unknown_order()
        cancel_id = cancel_client_id or self.accounts.new_client_id()
        now = self._state.clock.now_ms()
        order_list = self.accounts.list_of(order)
        legs = order_list.orders if order_list else [order]
        for leg in legs:
            if leg.is_open:
                self._unbook(leg)
                self.accounts.release(leg)
                leg.status, leg.update_time = "CANCELED", now
                self._report(leg, "CANCELED", now, cancel_client_id=cancel_id)
        if order_list is not None and order_list.is_open:
            order_list.list_status_type = order_list.list_order_status = "ALL_DONE"
            self.hub.publish(order.api_key, list_status(order_list, now))
        self._positions(order, now)
        return cancel_id

    # -- order lists -----------------------------------------------------------------------

    def place_oco(
        self, api_key: str, legs: tuple[OrderRequest, OrderRequest], list_client_id: str | None
    ) -> OrderList:
        """An OCO: legs as (below, above); ids and reports in that order."""
        symbol = legs[0].symbol
        if list_client_id is not None and any(
            lst.list_client_order_id == list_client_id and lst.is_open
            for lst in self.accounts.account(api_key).lists
        ):
            raise rejected("Duplicate order sent.")
        self.filters[symbol].check_order_lists(self.counts(api_key, symbol))
        qty = ZERO
        for leg in legs:
            qty = self._validate_leg(api_key, leg)
        now = self._state.clock.now_ms()
        order_list = OrderList(
            self.accounts.new_list_id(),
            list_client_id or self.accounts.new_client_id(),
            symbol,
            [],
            now,
        )
        orders = [self._new_order(api_key, leg, qty, order_list.order_list_id) for leg in legs]
        order_list.orders = orders
        self.accounts.account(api_key).lists.append(order_list)
        for order in orders:
            self._report(order, "NEW", now)
            if order.working:
                order.working_time = now
            self._book[symbol].append(order)
        reserve = max(orders, key=lambda o: o.price or o.stop_price)
        spec = self._state.specs[symbol]
        if reserve.side == "SELL":
            self.accounts.lock(reserve, spec.base, qty)
        else:
            self.accounts.lock(
                reserve, spec.quote, qty * max(o.price or o.stop_price for o in orders)
            )
        self.hub.publish(api_key, list_status(order_list, now))
        self._positions(orders[0], now)
        return order_list

    def _validate_leg(self, api_key: str, leg: OrderRequest) -> Decimal:
        return self.validate(api_key, leg, new_orders=2)

    # -- events ----------------------------------------------------------------------------

    def _report(
        self,
        order: Order,
        exec_type: str,
        now: int,
        fill: Fill | None = None,
        cancel_client_id: str | None = None,
    ) -> None:
        self._execution_id += 1
        if not self.hub.has_subscribers(order.api_key):
            return
        event = execution_report(order, exec_type, now, fill, self._execution_id, cancel_client_id)
        self.hub.publish(order.api_key, event)

    def _positions(self, order: Order, now: int) -> None:
        if not self.hub.has_subscribers(order.api_key):
            return
        spec: SymbolSpec = self._state.specs[order.symbol]
        account = self.accounts.account(order.api_key)
        event = account_position(account, [spec.base, spec.quote], now)
        self.hub.publish(order.api_key, event)


def _unfilled(time_in_force: str) -> str:
    if time_in_force == "FOK":
        return "UNFILLED_FOK_ORDER_EXPIRED"
    return "UNFILLED_IOC_QUANTITY_EXPIRED"
