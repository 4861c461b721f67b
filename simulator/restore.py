"""An account that goes on from an earlier run: the orders it already had, restored.

A simulator lives in memory; a service restarted on its journal against a new one would find
none of its orders and conclude the exchange was reset. `SimulatorConfig(restore=...)` hands
the new simulator what the exchange would remember, as plain `RestoredOrder`s (the caller
reads them from wherever it keeps them; the simulator imports nothing of the service):

- a FILLED order is kept with one fill (price = quote / executed quantity, as taker), so
  GET /api/v3/order, allOrders and myTrades answer for it as Binance would, and it moves the
  account's balances: a BUY adds the base and spends the quote, a SELL the reverse, and the
  commission leaves its asset;
- a resting STOP_LOSS SELL (status NEW) goes back on the book with its base locked: it
  triggers on the first later trade at or below its stopPrice, like any stop.

Restored orders keep their exchange ids when they can (an id already taken gets a new one);
new orders are numbered above them. Restoring emits no user-data event: it happened before.
A restore that would leave a balance below zero (orders that cannot all come from the initial
balances) raises ValueError naming the asset; nothing is applied then.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from simulator.accounts import Account, Accounts
from simulator.engine import Engine
from simulator.orders import ZERO, Fill, Order, RestoredOrder
from simulator.state import MarketState


def restore_account(
    state: MarketState, engine: Engine, api_key: str, orders: Sequence[RestoredOrder]
) -> None:
    """Apply `orders` (oldest first) to the account of `api_key`; see the module doc."""
    for r in orders:
        if r.symbol not in state.specs:
            raise ValueError(f"restored order {r.client_order_id!r}: unknown symbol {r.symbol}")
    accounts = engine.accounts
    account = accounts.account(api_key)
    _check_balances(state, account, orders)
    ids = _order_ids(accounts, orders)
    for r, order_id in zip(orders, ids, strict=True):
        order = _order(api_key, r, order_id)
        account.orders.append(order)
        if r.status == "FILLED":
            _fill(state, accounts, account, order, r)
        else:
            engine.rest(order)
        account.update_time = max(account.update_time, r.time_ms)


def _order_ids(accounts: Accounts, orders: Sequence[RestoredOrder]) -> list[int]:
    """The exchange's id of each order where it has one that is free; new ones above."""
    taken: set[int] = set()
    kept: list[int | None] = []
    for r in orders:
        ok = r.order_id is not None and r.order_id >= 0 and r.order_id not in taken
        kept.append(r.order_id if ok else None)
        if ok and r.order_id is not None:
            taken.add(r.order_id)
    if taken:
        accounts.keep_order_ids_above(max(taken))
    return [accounts.new_order_id() if i is None else i for i in kept]


def _order(api_key: str, r: RestoredOrder, order_id: int) -> Order:
    filled = r.status == "FILLED"
    return Order(
        api_key=api_key,
        symbol=r.symbol,
        order_id=order_id,
        client_order_id=r.client_order_id,
        side=r.side,
        type=r.type,
        time_in_force="GTC",
        price=ZERO,
        orig_qty=r.quantity,
        orig_quote_qty=ZERO,
        time=r.time_ms,
        stop_price=r.stop_price or ZERO,
        status=r.status,
        update_time=r.time_ms,
        working=filled,  # a resting stop is not working until it triggers
        working_time=r.time_ms if filled else -1,
    )


def _fill(
    state: MarketState, accounts: Accounts, account: Account, order: Order, r: RestoredOrder
) -> None:
    spec = state.specs[r.symbol]
    price = r.quote_qty / r.executed_qty
    fill_id = accounts.new_fill_id(r.symbol)
    order.fills.append(
        Fill(fill_id, price, r.executed_qty, r.commission, r.commission_asset, r.time_ms, False)
    )
    order.executed_qty, order.cumm_quote = r.executed_qty, r.quote_qty
    for asset, delta in _moves(spec.base, spec.quote, r).items():
        account.free[asset] = account.free.get(asset, ZERO) + delta
        account.locked.setdefault(asset, ZERO)


def _moves(base: str, quote: str, r: RestoredOrder) -> dict[str, Decimal]:
    """How one fill changes the balances, per asset."""
    sign = 1 if r.side == "BUY" else -1
    moves = {base: sign * r.executed_qty, quote: -sign * r.quote_qty}
    if r.commission:
        asset = r.commission_asset
        moves[asset] = moves.get(asset, ZERO) - r.commission
    return moves


def _check_balances(state: MarketState, account: Account, orders: Sequence[RestoredOrder]) -> None:
    """ValueError when the orders would leave any free balance below zero."""
    free = dict(account.free)
    for r in orders:
        spec = state.specs[r.symbol]
        if r.status == "FILLED":
            moves = _moves(spec.base, spec.quote, r)
        else:
            moves = {spec.base: -(r.quantity - r.executed_qty)}  # what the stop locks
        for asset, delta in moves.items():
            free[asset] = free.get(asset, ZERO) + delta
    short = sorted(asset for asset, amount in free.items() if amount < 0)
    if short:
        detail = ", ".join(f"{asset} {free[asset]}" for asset in short)
        raise ValueError(f"the restored orders leave a balance below zero: {detail}")
