"""Settings of the simulator: the market it makes, the accounts it keeps, the faults it injects."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.orders import RestoredOrder

KNOWN_QUOTES = ("USDT", "FDUSD", "USDC", "BUSD", "BTC", "ETH", "BNB")


@dataclass(frozen=True)
class FaultConfig:
    """Injected faults; every one is off by default. Probabilities are in [0, 1]; times are real."""

    drop_every_s: float | None = None  # close every stream connection after this many seconds
    drop_abort: bool = False  # drop by aborting the TCP transport (no close frame)
    frame_delay_ms: float = 0.0  # delay before sending a frame
    frame_delay_probability: float = 1.0  # share of frames delayed (when frame_delay_ms > 0)
    malformed_probability: float = 0.0  # frame replaced by invalid JSON (the trade is lost)
    truncated_probability: float = 0.0  # frame cut in half (the trade is lost)
    duplicate_probability: float = 0.0  # trade frame sent twice (same trade id)
    out_of_order_probability: float = 0.0  # trade frame held back and sent after the next one
    order_hang_probability: float = 0.0  # order executes; response never comes
    order_hang_s: float = 30.0  # how long a hung response is held before the socket is closed
    server_error_probability: float = 0.0  # HTTP 500 / -1001 before executing
    rate_limit_probability: float = 0.0  # HTTP 429 / -1003 with Retry-After
    retry_after_s: int = 1  # Retry-After of an injected 429
    rest_faults_on: str = "orders"  # "orders": POST/DELETE order only; "all": every REST request
    # With rest_faults_on="all": only these /api/v3 paths (e.g. ("historicalTrades",)); () all.
    rest_fault_paths: tuple[str, ...] = ()
    # The server's clock (/api/v3/time and the recvWindow check) gains this many ms per market
    # second since the market start, so a client's offset goes stale: -1021 until it resyncs.
    # Negative: the server's clock falls behind. Trade times and /sim/clock do not drift.
    clock_drift_ms_per_s: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "frame_delay_probability",
            "malformed_probability",
            "truncated_probability",
            "duplicate_probability",
            "out_of_order_probability",
            "order_hang_probability",
            "server_error_probability",
            "rate_limit_probability",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.drop_every_s is not None and self.drop_every_s <= 0:
            raise ValueError("drop_every_s must be positive")
        if self.rest_faults_on not in ("orders", "all"):
            raise ValueError("rest_faults_on must be 'orders' or 'all'")
        if self.clock_drift_ms_per_s <= -1000:
            raise ValueError("clock_drift_ms_per_s must be above -1000 (a clock never runs back)")
        if self.frame_delay_ms < 0 or self.order_hang_s < 0 or self.retry_after_s < 0:
            raise ValueError("delays must not be negative")


@dataclass(frozen=True)
class SymbolSpec:
    """One tradable symbol: its assets, start price and filters (Binance's exchangeInfo shape)."""

    symbol: str
    base: str
    quote: str
    start_price: Decimal
    tick_size: Decimal
    step_size: Decimal
    min_notional: Decimal = Decimal("5")
    max_qty: Decimal = Decimal("9000")
    market_max_qty: Decimal = Decimal("165.02219723")


_KNOWN: dict[str, tuple[str, str, str, str]] = {
    # symbol: (start price, tick size, step size, typical trade notional in quote)
    "BTCUSDT": ("65000", "0.01", "0.00001", "300"),
    "ETHUSDT": ("3000", "0.01", "0.0001", "300"),
    "BNBUSDT": ("600", "0.01", "0.001", "300"),
    "SOLUSDT": ("150", "0.01", "0.001", "300"),
    "XRPUSDT": ("0.6", "0.0001", "0.1", "300"),
    "LTCUSDT": ("80", "0.01", "0.001", "300"),
    "ETHBTC": ("0.046", "0.00001", "0.0001", "0.005"),
}


KNOWN_SYMBOLS: tuple[str, ...] = tuple(_KNOWN)  # listed by `--simulate`, ready to add


def split_symbol(symbol: str) -> tuple[str, str]:
    """BTCUSDT -> (BTC, USDT); raises ValueError when no known quote asset ends the name."""
    if not symbol.isalnum() or symbol.upper() != symbol:
        raise ValueError(f"symbol must be upper-case letters and digits: {symbol!r}")
    for quote in KNOWN_QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"symbol {symbol!r} does not end with a known quote asset {KNOWN_QUOTES}")


def make_spec(symbol: str, seed: int) -> SymbolSpec:
    """The spec of a known symbol, or one derived (seeded) for any other BASEQUOTE name."""
    base, quote = split_symbol(symbol)
    if symbol in _KNOWN:
        price, tick, step, _ = _KNOWN[symbol]
        return SymbolSpec(symbol, base, quote, Decimal(price), Decimal(tick), Decimal(step))
    rng = random.Random(f"{seed}:spec:{symbol}")
    exponent = rng.uniform(-1.0, 2.5)
    magnitude = math.floor(exponent)
    tick_size = Decimal(1).scaleb(max(magnitude - 4, -8))
    start = Decimal(str(round(10**exponent, 8))).quantize(tick_size)
    step_size = Decimal(1).scaleb(min(max(-magnitude - 1, -8), 0))
    return SymbolSpec(symbol, base, quote, start, tick_size, step_size)


def typical_notional(spec: SymbolSpec) -> Decimal:
    """The mean notional of a generated trade, in quote asset."""
    if spec.symbol in _KNOWN:
        return Decimal(_KNOWN[spec.symbol][3])
    return Decimal("300") if spec.quote not in ("BTC", "ETH", "BNB") else Decimal("0.01")


DEFAULT_BALANCES: dict[str, str] = {"USDT": "10000", "BTC": "1", "ETH": "10"}


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything the simulator needs; see README "Simulator" for each knob."""

    seed: int = 1
    speed: float = 1.0  # market seconds per real second
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    api_key: str = "sim-api-key"
    api_secret: str = "sim-api-secret"  # a local default, not a secret
    extra_credentials: tuple[tuple[str, str], ...] = ()  # more (key, secret) accounts
    faults: FaultConfig = field(default_factory=FaultConfig)
    trade_rate: float = 2.0  # market-time trades per second per symbol
    start_ms: int | None = None  # market start; None: now (floored to the minute above speed 1)
    history_minutes: int = 120  # pre-generated trades before start_ms
    initial_balances: tuple[tuple[str, str], ...] = tuple(DEFAULT_BALANCES.items())
    commission_rate: Decimal = Decimal("0.001")
    weight_limit_1m: int = 6000  # request weight per (real) minute before HTTP 429
    orders_per_10s: int = 50  # ORDERS rate limit per account and 10 real seconds (-1015)
    # Memory caps (bounded windows): trades kept for trades/historicalTrades/aggTrades and
    # backfills (>= the service's 100k-trade backfill limit), 1m candles kept for klines.
    max_trades_per_symbol: int = 100_000
    max_candles_per_symbol: int = 10_080  # one week of minutes
    ping_interval_s: float = 20.0  # websocket ping frames (real seconds)
    check_timestamps: bool = True  # -1021 on timestamps outside recvWindow
    recv_window_in_real_ms: bool = True  # recvWindow and the 1 s lead measured in real time
    tick_interval_s: float = 0.01  # real seconds between two emissions of due trades
    # Orders the main account (api_key) already had, oldest first: a run that goes on from an
    # earlier one (restore.py). Empty: a new account with initial_balances.
    restore: tuple[RestoredOrder, ...] = ()

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.trade_rate <= 0:
            raise ValueError("trade_rate must be positive")
        if self.history_minutes < 0:
            raise ValueError("history_minutes must not be negative")
        if not self.symbols:
            raise ValueError("symbols must not be empty")
        for symbol in self.symbols:
            split_symbol(symbol)
        if not self.api_key or not self.api_secret:
            raise ValueError("api_key and api_secret must not be empty")
        if self.commission_rate < 0 or self.weight_limit_1m <= 0:
            raise ValueError("commission_rate must be >= 0 and weight_limit_1m > 0")
        if self.orders_per_10s <= 0:
            raise ValueError("orders_per_10s must be positive")
        if self.max_trades_per_symbol < 1000 or self.max_candles_per_symbol < 1000:
            raise ValueError("max_trades_per_symbol and max_candles_per_symbol must be >= 1000")
        if self.tick_interval_s <= 0 or self.ping_interval_s <= 0:
            raise ValueError("tick_interval_s and ping_interval_s must be positive")

    def credentials(self) -> dict[str, str]:
        """api key -> secret, for every account."""
        return {self.api_key: self.api_secret, **dict(self.extra_credentials)}
