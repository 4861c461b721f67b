"""Settings: built once in main.py from the environment and `.env`, then passed to constructors.

Nothing imports a global settings object. A wrong value raises `SettingsError` whose message is
one line naming the setting and why; main.py prints it and exits with code 2.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.events import parse_daily, parse_levels
from core.variants import VariantSettings as VariantSettings  # re-exported
from core.variants import parse_variants

TESTNET_REST_URL = "https://testnet.binance.vision/api"
TESTNET_STREAM_URL = "wss://stream.testnet.binance.vision/"
TESTNET_WS_API_URL = "wss://ws-api.testnet.binance.vision/ws-api/v3"
MIN_PUBLIC_TOKEN = 16  # characters of API_TOKEN needed for a non-loopback API_HOST
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "your_api_key", "your_api_secret", "xxx", "secret", "key", "..."}
)


class SettingsError(Exception):
    """A setting is wrong. `str(err)` is one line: `SETTING_NAME: why`."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _parse_decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


class Settings(BaseSettings):
    """Every setting of the service. Environment names are the field names in upper case."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Exchange access. No keys: market data still works and orders are paper fills.
    binance_api_key: SecretStr | None = None
    binance_api_secret: SecretStr | None = None
    binance_rest_url: str = TESTNET_REST_URL
    binance_stream_url: str = TESTNET_STREAM_URL
    # The WebSocket API: order events as they happen (stops that fill on the exchange).
    binance_ws_api_url: str = TESTNET_WS_API_URL

    # Market data.
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["BTCUSDT", "ETHUSDT"])
    candle_history: int = Field(default=1440, ge=10, le=100_000)
    candle_close_grace_s: float = Field(default=2.0, ge=0.0, le=60.0)
    tick_history: int = Field(default=1000, ge=1, le=1_000_000)
    feed_watchdog_s: float = Field(default=30.0, gt=0.0, le=3600.0)

    # Strategy.
    ema_period: int = Field(default=5, ge=1, le=10_000)
    sma_period: int = Field(default=10, ge=1, le=10_000)
    # "A:0.15,B:0.10", with own periods "A:0.15:5:10", or a strategy of the library and an
    # interval "A:0.15:ema_sma(5,10)@1m,B:0.10:rsi(14,30,70)@5m" (core/variants.py,
    # docs/strategies.md). Parsed into `variant_settings`.
    variants: str = "A:0.15,B:0.10"

    # Orders and risk.
    # "BTCUSDT=0.001,ETHUSDT=0.01": base quantity per order for each symbol.
    order_quantities: Annotated[dict[str, Decimal], NoDecode] = Field(
        default_factory=lambda: {"BTCUSDT": Decimal("0.001"), "ETHUSDT": Decimal("0.01")}
    )
    # For a symbol without a quantity above: spend about this much quote currency per order.
    order_quote_default: Decimal = Field(default=Decimal("20"), gt=0)
    paper_fee_rate: Decimal = Field(default=Decimal("0.001"), ge=0, lt=1)
    # Where stop-losses live: "exchange" (a STOP_LOSS order rests on the exchange for every open
    # position, so it is protected while the service is down), "service" (checked on every
    # trade by the service), or "auto": exchange with API keys (and --simulate), service in
    # paper mode. Backtests always use the service's stops.
    stop_mode: Literal["auto", "exchange", "service"] = "auto"
    # Each variant's starting capital in quote currency: its cash for entries, and the base of
    # its return and drawdown. A long-only variant can never spend more than its cash.
    variant_capital: Decimal = Field(default=Decimal("1000"), gt=0, allow_inf_nan=False)
    risk_max_position_quote: Decimal = Field(default=Decimal("10000"), gt=0)
    # Daily loss halt per variant (entries only; exits keep working): 20 % of the default
    # capital.
    risk_daily_loss_limit_quote: Decimal = Field(default=Decimal("200"), gt=0)
    # A runaway guard, not a strategy limit: EMA(5)/SMA(10) on 1m candles crosses 139 times a
    # day on the recorded testnet klines and 159-168 on the simulator (bench/crossovers.py):
    # about 330 orders a day per variant on two symbols.
    risk_max_orders_per_day: int = Field(default=2000, ge=1)
    # The ledger (orders, fills, signals, controls): sqlite:///FILE or postgresql://user@host/db.
    # Unset: sqlite:///data/trading.db, with --simulate sqlite:///data/simulated.db.
    database_url: SecretStr | None = None
    # A JSON-lines journal imported into an empty ledger at the first start (then kept as is).
    journal_path: Path = Path("data/trades.jsonl")
    # Backtests and optimisations started from the dashboard: one folder per job (the candles
    # it ran on, its reports, job.json). With --simulate: data/simulated-research.
    research_dir: Path = Path("data/research")

    # HTTP API (docs/security.md: what each of these protects).
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=0, le=65535)
    api_token: SecretStr | None = None
    # Other pages allowed to call mutating routes and /ws: "https://a.example,http://b:3000".
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host names the API answers to besides loopback and API_HOST ("*": any, behind a proxy
    # that checks them itself). Stops DNS rebinding.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    api_access_log: bool = False  # one line per request (query strings scrubbed)
    ws_client_queue: int = Field(default=1000, ge=10, le=1_000_000)

    # Notifications (docs/notifications.md): webhook URLs (comma-separated), the secret that
    # signs them (Standard Webhooks), a Telegram bot and chat, each event kind's level, and
    # how long an undelivered event is tried before it expires.
    notify_webhook_url: Annotated[list[str], NoDecode] = Field(default_factory=list)
    notify_webhook_secret: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None
    telegram_chat_id: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    notify_events: str = ""
    notify_expiry_s: int = Field(default=86_400, ge=60, le=30 * 86_400)
    notify_daily_utc: str = "00:00"  # when the daily summary is sent (HH:MM, UTC)

    log_level: str = "INFO"

    @field_validator("symbols", "cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _csv_list(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for origin in value:
            scheme, sep, rest = origin.strip().lower().rstrip("/").partition("://")
            if origin.strip() == "*":
                raise ValueError("'*' would let every web page trade: list the origins")
            if not sep or scheme not in ("http", "https") or not rest or "/" in rest:
                raise ValueError(f"{origin!r} is not an origin such as https://host[:port]")
            out.append(f"{scheme}://{rest}")
        return out

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for host in value:
            name = host.strip().lower()
            if name != "*" and (not name or any(c in name for c in "/@ ")):
                raise ValueError(f"{host!r} is not a host name (no scheme, path or port)")
            out.append(name.removeprefix("[").removesuffix("]"))
        return out

    @field_validator("symbols")
    @classmethod
    def _check_symbols(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for symbol in value:
            upper = symbol.upper()
            if not upper.isalnum() or not 5 <= len(upper) <= 20:
                raise ValueError(f"{symbol!r} is not a Binance symbol such as BTCUSDT")
            if upper not in out:
                out.append(upper)
        if not out:
            raise ValueError("at least one symbol is needed")
        return out

    @field_validator("notify_webhook_url", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("notify_webhook_url")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")) or len(url) > 255:
                raise ValueError(f"{url!r} is not an http(s) URL of at most 255 characters")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_telegram_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("notify_events")
    @classmethod
    def _check_levels(cls, value: str) -> str:
        parse_levels(value)
        return value

    @field_validator("notify_daily_utc")
    @classmethod
    def _check_daily(cls, value: str) -> str:
        parse_daily(value)
        return value

    @field_validator("order_quantities", mode="before")
    @classmethod
    def _parse_quantities(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        quantities: dict[str, Decimal] = {}
        for part in _split_csv(value):
            symbol, sep, qty = part.partition("=")
            if not sep:
                raise ValueError(f"{part!r} should be SYMBOL=QUANTITY, e.g. BTCUSDT=0.001")
            quantities[symbol.strip().upper()] = _parse_decimal(qty.strip(), "quantity")
        return quantities

    @field_validator("order_quantities")
    @classmethod
    def _check_quantities(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for symbol, qty in value.items():
            if qty <= 0:
                raise ValueError(f"quantity for {symbol} must be positive, got {qty}")
        return value

    @field_validator(
        "binance_api_key", "binance_api_secret", "api_token", "notify_webhook_secret",
        "telegram_bot_token",
    )  # fmt: skip
    @classmethod
    def _reject_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        if not raw:
            return None
        if raw.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set the real value or leave it empty")
        return SecretStr(raw)

    @field_validator("binance_rest_url")
    @classmethod
    def _check_rest_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("binance_stream_url")
    @classmethod
    def _check_stream_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError(f"{value!r} must start with ws:// or wss://")
        return value if value.endswith("/") else value + "/"

    @field_validator("binance_ws_api_url")
    @classmethod
    def _check_ws_api_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError(f"{value!r} must start with ws:// or wss://")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"{value!r} is not one of DEBUG, INFO, WARNING, ERROR")
        return upper

    @field_validator("variants")
    @classmethod
    def _check_variants(cls, value: str, info: ValidationInfo) -> str:
        # EMA_PERIOD/SMA_PERIOD come first in the class, so they are checked and known here.
        parse_variants(value, info.data.get("ema_period", 5), info.data.get("sma_period", 10))
        return value

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        if (self.binance_api_key is None) != (self.binance_api_secret is None):
            raise ValueError(
                "binance_api_key and binance_api_secret: set both (testnet orders)"
                " or neither (paper)"
            )
        if self.ema_period >= self.sma_period:
            raise ValueError("ema_period must be shorter than sma_period for a crossover")
        if not _is_loopback(self.api_host):
            token = self.api_token.get_secret_value() if self.api_token is not None else ""
            if len(token) < MIN_PUBLIC_TOKEN:
                raise ValueError(
                    f"api_host {self.api_host!r} is not loopback: set an API_TOKEN of at least"
                    f" {MIN_PUBLIC_TOKEN} characters before exposing the API"
                    " (python -c 'import secrets; print(secrets.token_urlsafe(24))')"
                )
        return self

    @property
    def has_keys(self) -> bool:
        return self.binance_api_key is not None and self.binance_api_secret is not None

    @property
    def variant_settings(self) -> list[VariantSettings]:
        return parse_variants(self.variants, self.ema_period, self.sma_period)

    def order_quantity(self, symbol: str) -> Decimal | None:
        """The configured base quantity for `symbol`, or None (use `order_quote_default`)."""
        return self.order_quantities.get(symbol.upper())


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104  # names, not a bind


def host_names(settings: Settings) -> frozenset[str]:
    """The Host names the API answers to: loopback, API_HOST (unless a wildcard bind) and
    ALLOWED_HOSTS; lower case, without port or brackets. Contains "*" when any is allowed."""
    names = set(LOOPBACK_NAMES) | set(settings.allowed_hosts)
    bound = settings.api_host.lower().removeprefix("[").removesuffix("]")
    if bound not in WILDCARD_HOSTS:
        names.add(bound)
    return frozenset(names)


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Build the settings; on a wrong value raise `SettingsError` with one line naming it."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"--env-file {env_file}: not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or _setting_from_message(first["msg"])
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{loc.upper()}: {message}") from None


def _setting_from_message(message: str) -> str:
    """Model-level errors name their setting as the message's first word."""
    return message.removeprefix("Value error, ").split(" ", 1)[0].rstrip(":")
