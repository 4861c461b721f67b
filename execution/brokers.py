"""Two brokers behind one interface: paper fills in-process, testnet orders over REST.

Both follow Binance's conventions so a paper run matches a testnet run: MARKET orders only,
quantities on the LOT_SIZE step, the notional minimum, a BUY's commission in the base asset
and a SELL's in the quote asset. Errors come out as execution.errors types.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, Protocol

from core.clock import Clock, SystemClock
from execution.errors import (
    DUPLICATE_ORDER,
    FILTER_FAILURE,
    DuplicateOrderError,
    FilterFailureError,
    InvalidSymbolError,
    OrderNotExecutedError,
    OrderNotFoundError,
    OrderRejectedError,
    UnknownOutcomeError,
    classify,
)
from execution.models import BrokerFill, Mode, RestingOrder
from execution.rules import SymbolRules, parse_exchange_info
from execution.server_time import ServerTime
from strategy.models import Side

if TYPE_CHECKING:  # the live broker's client; a backtest starts without python-binance
    from binance import AsyncClient

log = logging.getLogger(__name__)
_ZERO = Decimal(0)


class Broker(Protocol):
    """Places MARKET orders and finds them again by client order id."""

    mode: str

    def rules(self, symbol: str) -> SymbolRules:
        """The symbol's rules; raises InvalidSymbolError for an unknown symbol."""
        ...

    async def place_market(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> BrokerFill:
        """Send the order; raises ExchangeError subclasses (UnknownOutcomeError: look it up)."""
        ...

    async def find_order(self, symbol: str, client_order_id: str) -> BrokerFill | None:
        """The executed order with that id; None when confirmed absent (-2013); raises
        UnknownOutcomeError / RateLimitedError when the exchange could not say."""
        ...

    async def resync_time(self) -> None:
        """Refresh the server-time offset (after -1021)."""
        ...


def qty_text(qty: Decimal) -> str:
    """A quantity as Binance wants it: plain digits, never an exponent."""
    return format(qty.normalize(), "f")


@functools.cache
def _commission_quantum(precision: int) -> Decimal:
    """Commissions are cut (rounded down) to the asset's commission precision."""
    return Decimal(1).scaleb(-precision)


def paper_fill(
    rules: SymbolRules,
    side: Side,
    quantity: Decimal,
    price: Decimal | None,
    fee_rate: Decimal,
    exchange_order_id: int,
    client_order_id: str,
    now_ms: int,
) -> BrokerFill:
    """A MARKET order filled whole at `price`, as the exchange would take it: its filters
    checked, the fee cut to the commission precision (a BUY pays it in the base asset, a SELL
    in the quote asset). Raises the exchange's refusal (no price, a filter failure)."""
    if price is None:
        raise OrderRejectedError(f"no last price for {rules.symbol} yet")
    if rules.round_qty(quantity) != quantity:
        raise FilterFailureError("Filter failure: LOT_SIZE", FILTER_FAILURE, 400)
    why = rules.check_market(quantity, price)
    if why is not None:
        raise FilterFailureError(f"Filter failure: {why}", FILTER_FAILURE, 400)
    quote = quantity * price
    if side is Side.BUY:
        fee = (quantity * fee_rate).quantize(
            _commission_quantum(rules.base_commission_precision), rounding=ROUND_DOWN
        )
        fee_asset = rules.base_asset
    else:
        fee = (quote * fee_rate).quantize(
            _commission_quantum(rules.quote_commission_precision), rounding=ROUND_DOWN
        )
        fee_asset = rules.quote_asset
    return BrokerFill(
        exchange_order_id=exchange_order_id,
        client_order_id=client_order_id,
        executed_qty=quantity,
        quote_qty=quote,
        avg_price=price,
        commission=fee,
        commission_asset=fee_asset,
        fill_time_ms=now_ms,
    )


class PaperBroker:
    """Fills at the last trade price (`price_of`), with the exchange's filters and a fee."""

    def __init__(
        self,
        price_of: Callable[[str], Decimal | None],
        fee_rate: Decimal,
        rules: dict[str, SymbolRules],
        clock: Clock | None = None,
        mode: str = Mode.PAPER.value,
    ) -> None:
        self._price_of = price_of
        self._fee_rate = fee_rate
        self._rules = dict(rules)
        self._clock: Clock = clock or SystemClock()
        self.mode = mode
        self._orders: dict[str, BrokerFill] = {}
        self._next_id = 1

    def rules(self, symbol: str) -> SymbolRules:
        try:
            return self._rules[symbol]
        except KeyError:
            raise InvalidSymbolError(f"no rules for symbol {symbol}", -1121) from None

    def set_rules(self, rules: SymbolRules) -> None:
        self._rules[rules.symbol] = rules

    async def place_market(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> BrokerFill:
        if client_order_id in self._orders:
            raise DuplicateOrderError("Duplicate order sent.", DUPLICATE_ORDER, 400)
        fill = paper_fill(
            self.rules(symbol), side, quantity, self._price_of(symbol), self._fee_rate,
            self._next_id, client_order_id, self._clock.now_ms(),
        )  # fmt: skip
        self._next_id += 1
        self._orders[client_order_id] = fill
        return fill

    async def find_order(self, symbol: str, client_order_id: str) -> BrokerFill | None:
        return self._orders.get(client_order_id)

    async def resync_time(self) -> None:
        return None


def fill_from_response(resp: dict[str, Any]) -> BrokerFill:
    """A `newOrderRespType=FULL` response -> BrokerFill (average price and commission from
    `fills`). Raises OrderRejectedError when nothing was executed (e.g. EXPIRED)."""
    executed = Decimal(str(resp.get("executedQty", "0")))
    cid = str(resp.get("clientOrderId", ""))
    if executed <= 0:
        raise OrderRejectedError(f"order {cid} {resp.get('status')}: nothing executed")
    fills = resp.get("fills") or []
    return _fill_from_trades(resp, executed, fills, "qty")


def _fill_from_trades(
    order: dict[str, Any], executed: Decimal, trades: list[dict[str, Any]], qty_key: str
) -> BrokerFill:
    quote = Decimal(str(order.get("cummulativeQuoteQty", "0")))
    commission = _ZERO
    asset = ""
    notional = _ZERO
    traded = _ZERO
    for tr in trades:
        qty = Decimal(str(tr[qty_key]))
        notional += Decimal(str(tr["price"])) * qty
        traded += qty
        if not asset:
            asset = str(tr.get("commissionAsset", ""))
        if str(tr.get("commissionAsset", "")) == asset:
            commission += Decimal(str(tr.get("commission", "0")))
        else:
            log.warning("order %s pays commission in two assets", order.get("clientOrderId"))
    if quote <= 0:
        quote = notional
    avg = (notional / traded) if traded > 0 else quote / executed
    times = [int(t.get("time", 0)) for t in trades if "time" in t]
    fill_time = int(order.get("transactTime") or order.get("updateTime") or max(times, default=0))
    return BrokerFill(
        exchange_order_id=int(order["orderId"]),
        client_order_id=str(order.get("clientOrderId", "")),
        executed_qty=executed,
        quote_qty=quote,
        avg_price=avg,
        commission=commission,
        commission_asset=asset,
        fill_time_ms=fill_time,
        status=str(order.get("status", "FILLED")),
    )


class TestnetBroker:
    """python-binance AsyncClient against the Spot Testnet (or the simulator)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        client: AsyncClient,
        rules: dict[str, SymbolRules],
        mode: str = Mode.TESTNET.value,
        server_time: ServerTime | None = None,
    ) -> None:
        self._client = client
        self._rules = dict(rules)
        self.mode = mode
        self.server_time = server_time or ServerTime(client)

    def rules(self, symbol: str) -> SymbolRules:
        try:
            return self._rules[symbol]
        except KeyError:
            raise InvalidSymbolError(f"no rules for symbol {symbol}", -1121) from None

    def set_rules(self, rules: SymbolRules) -> None:
        self._rules[rules.symbol] = rules

    async def load_rules(self, symbols: list[str] | None = None) -> dict[str, SymbolRules]:
        """Fetch exchangeInfo and keep the rules of `symbols` (all when None)."""
        try:
            info = await self._client.get_exchange_info()
        except Exception as exc:
            raise classify(exc) from None
        rules = parse_exchange_info(info)
        for symbol, rule in rules.items():
            if symbols is None or symbol in symbols:
                self._rules[symbol] = rule
        return {s: self._rules[s] for s in self._rules if symbols is None or s in symbols}

    async def place_market(
        self, symbol: str, side: Side, quantity: Decimal, client_order_id: str
    ) -> BrokerFill:
        try:
            resp = await self._client.create_order(
                symbol=symbol,
                side=side.value,
                type="MARKET",
                quantity=qty_text(quantity),
                newClientOrderId=client_order_id,
                newOrderRespType="FULL",
            )
        except Exception as exc:
            raise classify(exc) from None
        return fill_from_response(resp)

    async def _get_order(self, symbol: str, client_order_id: str) -> dict[str, Any] | None:
        """GET /api/v3/order by client order id; None when the exchange says -2013 (absent)."""
        try:
            order: dict[str, Any] = await self._client.get_order(
                symbol=symbol, origClientOrderId=client_order_id
            )
        except Exception as exc:
            err = classify(exc)
            if isinstance(err, OrderNotFoundError):
                return None
            raise err from None
        return order

    async def find_order(self, symbol: str, client_order_id: str) -> BrokerFill | None:
        order = await self._get_order(symbol, client_order_id)
        if order is None:
            return None
        status = str(order.get("status"))
        executed = Decimal(str(order.get("executedQty", "0")))
        if status in ("NEW", "PENDING_NEW", "PARTIALLY_FILLED"):
            raise UnknownOutcomeError(f"order {client_order_id} is still {status}")
        if executed <= 0:
            raise OrderNotExecutedError(f"order {client_order_id} {status}: nothing executed")
        try:
            trades = await self._client.get_my_trades(symbol=symbol, orderId=order["orderId"])
        except Exception as exc:
            raise classify(exc) from None
        return _fill_from_trades(order, executed, list(trades), "qty")

    async def resync_time(self) -> None:
        """Measure the server-time offset again (the service's one offset: see ServerTime)."""
        await self.server_time.sync()

    # -- stops resting on the exchange (STOP_MODE=exchange) --------------------------------

    async def place_stop(
        self, symbol: str, quantity: Decimal, stop_price: Decimal, client_order_id: str
    ) -> RestingOrder:
        """A STOP_LOSS SELL: a MARKET sell of `quantity` once a trade is at or below
        `stop_price`."""
        try:
            resp = await self._client.create_order(
                symbol=symbol,
                side="SELL",
                type="STOP_LOSS",
                quantity=qty_text(quantity),
                stopPrice=qty_text(stop_price),
                newClientOrderId=client_order_id,
                newOrderRespType="RESULT",
            )
        except Exception as exc:
            raise classify(exc) from None
        return await self._resting(symbol, resp)

    async def find_stop(self, symbol: str, client_order_id: str) -> RestingOrder | None:
        """The stop's state on the exchange (with its fill once executed); None: absent."""
        order = await self._get_order(symbol, client_order_id)
        return None if order is None else await self._resting(symbol, order)

    async def cancel_order(self, symbol: str, client_order_id: str) -> RestingOrder:
        """Cancel an open order; CancelRejectedError (-2011) when it is not open any more."""
        try:
            resp = await self._client.cancel_order(symbol=symbol, origClientOrderId=client_order_id)
        except Exception as exc:
            raise classify(exc) from None
        return await self._resting(symbol, resp)

    async def _resting(self, symbol: str, order: dict[str, Any]) -> RestingOrder:
        status = str(order.get("status", ""))
        executed = Decimal(str(order.get("executedQty", "0")))
        fill = None
        if status == "FILLED" and executed > 0:
            try:
                trades = await self._client.get_my_trades(symbol=symbol, orderId=order["orderId"])
            except Exception as exc:
                raise classify(exc) from None
            fill = _fill_from_trades(order, executed, list(trades), "qty")
        return RestingOrder(int(order["orderId"]), status, fill)
