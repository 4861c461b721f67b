"""Response and request bodies of the REST API: pydantic models, apart from the domain objects.

Money is a decimal string, exactly as Binance sends it. Every time is epoch milliseconds with an
ISO-8601 UTC twin (`*_iso`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    WithJsonSchema,
)

DecimalStr = str  # a decimal number as a string, e.g. "0.00100000"
MAX_MS = 2**53  # the largest epoch-ms a query takes (databases hold 64-bit integers)
MAX_CURSOR = 2**62  # a history page's cursor is a ledger seq
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")  # ASCII digits: no _, no １, no sign


def _strict_decimal(value: Any) -> Any:
    """A decimal a client sends: a JSON number, or a string of ASCII digits with an optional
    dot. Python's Decimal would read "0_0_0_1", "１" and "1_0"; a boolean is not a number."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise ValueError("must be ASCII digits with an optional dot, e.g. 0.001")
        return value
    if isinstance(value, int | float):
        return value
    raise ValueError("must be a number, e.g. 0.001")


DecimalIn = Annotated[Decimal, BeforeValidator(_strict_decimal)]
# What the schema says of a positive decimal below 10^18 (a quantity): what the service takes.
POSITIVE = r"^(0*[1-9][0-9]{0,17}(\.[0-9]+)?|0+\.[0-9]*[1-9][0-9]*)$"
POSITIVE_BELOW_ONE = r"^0+\.[0-9]*[1-9][0-9]*$"  # a fraction, e.g. a stop-loss of 0.08


def decimal_schema(pattern: str, maximum: int) -> WithJsonSchema:
    return WithJsonSchema(
        {"anyOf": [
            {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": maximum},
            {"type": "string", "pattern": pattern},
        ]}
    )  # fmt: skip


Quantity = Annotated[
    DecimalIn, Field(gt=0, lt=10**18, allow_inf_nan=False), decimal_schema(POSITIVE, 10**18)
]
Fraction = Annotated[
    DecimalIn, Field(gt=0, lt=1, allow_inf_nan=False), decimal_schema(POSITIVE_BELOW_ONE, 1)
]
NumberIn = StrictInt | StrictFloat  # JSON numbers only: true is not 1


class ErrorOut(BaseModel):
    detail: Any = Field(description="why the request failed")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "bad request"},
    401: {"model": ErrorOut, "description": "missing or wrong API token"},
    404: {"model": ErrorOut, "description": "not found"},
    409: {"model": ErrorOut, "description": "conflicts with the current state"},
    422: {"model": ErrorOut, "description": "invalid parameters"},
    503: {"model": ErrorOut, "description": "a database cannot be read now"},
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}


class FeedOut(BaseModel):
    status: str = Field(description="live | reconnecting | backfilling | stale | starting")
    reconnects: int
    last_tick_ms: int | None
    last_tick_iso: str | None
    last_tick_age_s: float | None
    last_error: str | None


class VariantStateOut(BaseModel):
    variant: str
    state: Literal["active", "paused", "halted"] = Field(
        description="active: entries go out; paused: they wait for something that passes by"
        " itself; halted: they stop until a person acts or the UTC day ends. Exits and stops"
        " keep working in every state."
    )
    reason: str | None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    reasons: list[str] = Field(description="why degraded; empty when ok")
    mode: Literal["paper", "testnet", "simulated"]
    uptime_s: float
    started_ms: int
    started_iso: str
    now_ms: int
    now_iso: str
    symbols: dict[str, FeedOut]
    variants: list[VariantStateOut] = Field(description="whether each variant can open positions")
    notices: list[str] = Field(
        default=[], description="what the start found (an exchange reset); not a fault now"
    )


class SymbolOut(BaseModel):
    symbol: str
    feed: str
    candles: int
    last_price: DecimalStr | None


class SymbolsOut(BaseModel):
    symbols: list[SymbolOut]


class SymbolRemovedOut(BaseModel):
    symbol: str
    removed: bool
    closed_positions: list[str] = Field(description="variants whose position was closed first")


# aggregation.timeframes.INTERVALS (a test checks they agree)
IntervalName = Literal["1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d"]


class CandleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"description": "Binance's kline fields, of a 1m … 1d candle"}
    )

    symbol: str
    interval: IntervalName
    open_time: int
    close_time: int
    open_time_iso: str
    close_time_iso: str
    open: DecimalStr
    high: DecimalStr
    low: DecimalStr
    close: DecimalStr
    volume: DecimalStr
    quote_volume: DecimalStr
    trades: int
    taker_buy_base: DecimalStr
    taker_buy_quote: DecimalStr
    complete: bool = Field(description="false: trades of this candle are missing (a gap)")
    closed: bool = Field(description="false for the candle still being built")
    source: Literal["stream", "backfill", "warmup"]


class CandleSeriesOut(BaseModel):
    symbol: str
    candles: list[CandleOut] = Field(description="closed candles, oldest first")
    open_candle: CandleOut | None = Field(description="the candle still being built")


class TickOut(BaseModel):
    symbol: str
    trade_id: int
    price: DecimalStr
    qty: DecimalStr
    trade_time_ms: int
    trade_time_iso: str
    is_buyer_maker: bool


class SignalOut(BaseModel):
    variant: str
    symbol: str
    side: Literal["BUY", "SELL"]
    reason: str
    price: DecimalStr
    time_ms: int
    time_iso: str
    ref: int
    strength: str | None
    ema: float | None
    sma: float | None
    action: str
    indicators: dict[str, float | None] | None = Field(
        description="a non-crossover strategy's values behind it (rsi; macd, signal, hist; "
        "lower, middle, upper); null for ema_sma, whose values are ema and sma"
    )


class VariantMoneyOut(BaseModel):
    """One variant's money, in quote currency; return and drawdown relative to capital."""

    capital: DecimalStr
    cash: DecimalStr = Field(description="capital − spent on BUYs + received for SELLs")
    holdings: DecimalStr = Field(
        description="everything held (dust included) at the mark prices: the newest fill or"
        " closed 1m candle of each symbol"
    )
    equity: DecimalStr = Field(description="cash + holdings")
    realized_pnl: DecimalStr
    unrealized_pnl: DecimalStr
    pnl: DecimalStr = Field(default="0", description="realized + unrealized = equity − capital")
    fees: DecimalStr
    return_pct: DecimalStr = Field(description="(equity − capital) / capital × 100")
    drawdown_pct: DecimalStr = Field(description="(peak equity − equity) / peak × 100, now")
    max_drawdown_pct: DecimalStr = Field(description="the largest drawdown since start")


class StrategyVariantOut(BaseModel):
    name: str
    stop_loss: DecimalStr
    ema_period: int
    sma_period: int
    strategy: str = Field(default="ema_sma", description="the library's name (docs/strategies.md)")
    parameters: dict[str, int | float] = Field(default_factory=dict)
    interval: str = Field(default="1m", description="the candles it decides on")
    spec: str = Field(default="", description="as VARIANTS writes it: rsi(period=14,…)@5m")
    state: Literal["active", "paused", "halted"]
    state_reason: str | None
    paused: bool = Field(default=False, description="a person paused it")
    money: VariantMoneyOut


class StrategyOut(BaseModel):
    strategy: str
    ema_period: int
    sma_period: int
    variants: list[StrategyVariantOut]
    symbols: dict[str, Any] = Field(description="indicator values and readiness per symbol")


class OrderIn(BaseModel):
    """A manual market order (the dashboard's form); same risk checks and journal as signals."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(min_length=5, max_length=20, pattern=r"^[A-Za-z0-9]+$")
    side: Literal["BUY", "SELL"]
    quantity: Quantity
    variant: str = Field(min_length=1, max_length=8, pattern=r"^[A-Za-z0-9]+$")


class StopOrderOut(BaseModel):
    """The STOP_LOSS order resting on the exchange for a position (STOP_MODE=exchange)."""

    client_order_id: str
    exchange_order_id: int | None = Field(description="None while it is being placed")
    stop_price: DecimalStr | None
    quantity: DecimalStr
    state: Literal["intent", "open"]


class PositionOut(BaseModel):
    variant: str
    symbol: str
    qty: DecimalStr = Field(description="sellable: held_qty on the LOT_SIZE step")
    held_qty: DecimalStr = Field(description="every base unit held, dust included")
    entry_price: DecimalStr | None = Field(description="average fill price of what is held")
    cost_quote: DecimalStr = Field(description="average cost of held_qty, fees included")
    realized_pnl: DecimalStr
    dust: DecimalStr = Field(description="held_qty − qty: below one LOT_SIZE step, at market")
    fees_quote: DecimalStr = Field(description="commissions paid, valued in quote")
    spent_quote: DecimalStr = Field(description="quote spent on BUYs, quote fees included")
    received_quote: DecimalStr = Field(description="quote received for SELLs, net of fees")
    trades: int
    is_open: bool
    last_price: DecimalStr | None = Field(description="the last trade's price")
    mark_price: DecimalStr | None = Field(
        default=None,
        description="the price money figures are marked at: the newest fill or closed 1m candle",
    )
    unrealized_pnl: DecimalStr | None = Field(
        description="held_qty × mark price − cost_quote (realized + unrealized = received − "
        "spent + held_qty × mark price)"
    )
    updated_ms: int
    updated_iso: str
    stop_order: StopOrderOut | None = Field(
        default=None, description="the stop resting on the exchange (STOP_MODE=exchange)"
    )
    stop_price: DecimalStr | None = Field(
        default=None,
        description="where the stop-loss sells: the resting stop order's price, else the level"
        " the service checks (entry × (1 − stop_loss)); null when flat",
    )


class TradeOut(BaseModel):
    """A filled order from the journal."""

    model_config = ConfigDict(extra="allow")

    client_order_id: str
    variant: str
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: DecimalStr
    executed_qty: DecimalStr
    price: DecimalStr | None = Field(description="average fill price")
    quote_qty: DecimalStr
    commission: DecimalStr
    commission_asset: str | None
    realized_pnl: DecimalStr | None
    reason: str
    mode: str
    exchange_order_id: int | None
    fill_time_ms: int | None
    fill_time_iso: str | None
    signal_time_ms: int
    signal_time_iso: str


class RoundTripOut(BaseModel):
    """A closed position: first entry fill to the closing exit fill (execution.performance)."""

    variant: str
    symbol: str
    entry_time_ms: int
    entry_time_iso: str
    entry_price: DecimalStr = Field(description="average BUY fill price")
    exit_time_ms: int
    exit_time_iso: str
    exit_price: DecimalStr = Field(description="average SELL fill price")
    duration_s: float
    quantity: DecimalStr = Field(description="base sold")
    pnl: DecimalStr = Field(description="the SELLs' realized P&L (average cost, fees included)")
    pnl_pct: DecimalStr = Field(description="pnl / (quantity × entry price) × 100")
    fees: DecimalStr = Field(description="every fill's commission, in quote")
    exit_reason: str
    entry_order_id: str
    exit_order_id: str


class OrderEventOut(TradeOut):
    """The data of an `order` or `trade` WebSocket event: a /trades row (fill fields empty or
    zero until filled) plus what became of the order."""

    status: Literal["intent", "filled", "rejected", "abandoned", "open", "canceled"]
    closing: bool = Field(description="the order closes the position")
    error_code: int | None = Field(description="the exchange's (or risk check's) code if refused")
    error: str | None = Field(description="why it was rejected or abandoned")
    time_ms: int
    time_iso: str


class OrderOutcomeOut(BaseModel):
    """What became of an order: `filled` or `rejected` (with the exchange's code and reason)."""

    status: Literal["intent", "filled", "rejected", "abandoned", "open", "canceled"]
    client_order_id: str
    variant: str
    symbol: str
    side: Literal["BUY", "SELL"]
    quantity: DecimalStr
    executed_qty: DecimalStr
    avg_price: DecimalStr | None
    quote_qty: DecimalStr
    realized_pnl: DecimalStr | None
    reason: str
    mode: str
    error_code: int | None
    error: str | None
    time_ms: int
    time_iso: str
