"""Orders, fills and order lists as the simulator's matching engine keeps them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
ORDER_TYPES = (
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
)
ALGO_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"})
LIMIT_TYPES = frozenset({"LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"})
TIME_IN_FORCE = ("GTC", "IOC", "FOK")
STP_MODES = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT", "TRANSFER")
DEFAULT_STP = "EXPIRE_MAKER"
OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})


@dataclass(frozen=True)
class OrderRequest:
    """A validated order as the client asked for it (before the filters and the balance)."""

    symbol: str
    side: str  # BUY | SELL
    type: str  # one of ORDER_TYPES
    quantity: Decimal | None
    quote_qty: Decimal | None = None
    price: Decimal | None = None
    time_in_force: str | None = None
    client_order_id: str | None = None
    stop_price: Decimal | None = None
    iceberg_qty: Decimal | None = None
    stp_mode: str = DEFAULT_STP
    strategy_id: int | None = None
    strategy_type: int | None = None


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
    api_key: str
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
    stop_price: Decimal = ZERO
    iceberg_qty: Decimal | None = None
    stp_mode: str = DEFAULT_STP
    strategy_id: int | None = None
    strategy_type: int | None = None
    order_list_id: int = -1
    status: str = "NEW"
    executed_qty: Decimal = ZERO
    cumm_quote: Decimal = ZERO
    update_time: int = 0
    working: bool = True  # on the book (a stop order is not until it triggers)
    working_time: int = -1
    expiry_reason: str | None = None
    locked_asset: str = ""
    locked: Decimal = ZERO  # what this order holds of locked_asset
    fills: list[Fill] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_algo(self) -> bool:
        return self.type in ALGO_TYPES


@dataclass
class OrderList:
    """An OCO pair: the orders of one list, cancelled together."""

    order_list_id: int
    list_client_order_id: str
    symbol: str
    orders: list[Order]
    time: int
    list_status_type: str = "EXEC_STARTED"  # EXEC_STARTED | ALL_DONE
    list_order_status: str = "EXECUTING"  # EXECUTING | ALL_DONE | REJECT
    contingency_type: str = "OCO"

    @property
    def is_open(self) -> bool:
        return self.list_order_status == "EXECUTING"


@dataclass(frozen=True)
class RestoredOrder:
    """An order the account already had before this run (see restore.py), as plain data:
    a MARKET or STOP_LOSS order that FILLED (its one fill moves the balances), or a
    STOP_LOSS SELL still resting (NEW: it waits for its trigger and locks its base)."""

    symbol: str
    side: str  # BUY | SELL
    client_order_id: str
    quantity: Decimal  # what was ordered (origQty)
    time_ms: int  # the fill time of a FILLED order; when a resting stop was placed
    type: str = "MARKET"  # MARKET | STOP_LOSS
    status: str = "FILLED"  # FILLED | NEW
    executed_qty: Decimal = ZERO
    quote_qty: Decimal = ZERO  # cummulativeQuoteQty
    commission: Decimal = ZERO
    commission_asset: str = ""
    order_id: int | None = None  # the exchange's id; None (or taken): a new one is given
    stop_price: Decimal | None = None

    def __post_init__(self) -> None:
        where = f"restored order {self.client_order_id!r}"
        if self.side not in ("BUY", "SELL") or self.type not in ("MARKET", "STOP_LOSS"):
            raise ValueError(f"{where}: side BUY/SELL and type MARKET/STOP_LOSS only")
        if self.quantity <= 0:
            raise ValueError(f"{where}: quantity must be positive")
        if self.status == "FILLED":
            if self.executed_qty <= 0 or self.quote_qty <= 0 or self.commission < 0:
                raise ValueError(f"{where}: a fill needs a positive executed and quote quantity")
            if self.commission and not self.commission_asset:
                raise ValueError(f"{where}: a commission needs its asset")
        elif self.status == "NEW":
            if self.type != "STOP_LOSS" or self.side != "SELL" or not self.stop_price:
                raise ValueError(f"{where}: only a STOP_LOSS SELL with a stopPrice rests")
        else:
            raise ValueError(f"{where}: status must be FILLED or NEW, not {self.status!r}")
        if self.type == "STOP_LOSS" and not self.stop_price:
            raise ValueError(f"{where}: a STOP_LOSS needs its stopPrice")
