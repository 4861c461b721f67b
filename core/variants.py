"""Variants: each one's stop-loss, strategy, parameters and candle interval, from `VARIANTS`.

This is settings knowledge (config.py's layer): the strategies' names and parameters are
declared here, so a wrong value stops the start with one line; the classes that run them are
in strategy/library.py.

    VARIANTS=A:0.15,B:0.10                                  EMA/SMA (EMA_PERIOD/SMA_PERIOD), 1m
    VARIANTS=A:0.15:5:10,B:0.10:3:7                          EMA/SMA with own periods
    VARIANTS=A:0.15:ema_sma(5,10)@1m,B:0.10:rsi(14,30,70)@5m  any strategy of the library
    VARIANTS=A:0.15:rsi(oversold=25)@15m,B:0.10@5m           named parameters; defaults

An entry is `NAME:STOP_LOSS[:EMA:SMA | :STRATEGY[(ARGS)]][@INTERVAL]`; ARGS are numbers in the
strategy's parameter order and/or `name=number`; omitted ones take their defaults. Commas
inside parentheses belong to the strategy. Every mistake is a ValueError of one line that
names the variant (config.py prefixes the setting's name).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.clock import MINUTE_MS

Number = int | float
# Binance's interval names for the candles the service builds, in milliseconds.
INTERVALS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}

DEFAULT_STRATEGY = "ema_sma"
DEFAULT_INTERVAL = "1m"
_SPEC = re.compile(r"^([a-z][a-z0-9_]*)\s*(?:\((.*)\))?$", re.IGNORECASE | re.DOTALL)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: whole number or not, its default and its inclusive bounds."""

    name: str
    default: Number
    low: Number
    high: Number
    integer: bool = True

    def check(self, value: Number) -> Number:
        """The value as this parameter's type; ValueError saying why it is not acceptable."""
        if self.integer:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{self.name} must be a whole number, got {value}")
            value = int(value)
        else:
            value = float(value)
        if not self.low <= value <= self.high:
            raise ValueError(f"{self.name} must be between {self.low} and {self.high}, got {value}")
        return value


@dataclass(frozen=True, slots=True)
class StrategyParams:
    """What the settings know of a strategy: its parameters in order, their defaults and
    bounds, and which must be smaller than which. The class itself is in strategy.library."""

    name: str
    summary: str
    params: tuple[Param, ...]
    less_than: tuple[tuple[str, str], ...] = ()

    def defaults(self) -> dict[str, Number]:
        return {p.name: p.default for p in self.params}

    def resolve(
        self,
        positional: tuple[Number, ...] = (),
        named: Mapping[str, Number] | None = None,
        defaults: Mapping[str, Number] | None = None,
    ) -> dict[str, Number]:
        """Every parameter's value: positional ones in declared order, then named ones, then
        `defaults` (or the declared ones), each checked, then checked together."""
        names = [p.name for p in self.params]
        if len(positional) > len(names):
            raise ValueError(
                f"{self.name} takes at most {len(names)} parameters ({', '.join(names)}),"
                f" got {len(positional)}"
            )
        values: dict[str, Number] = dict(zip(names, positional, strict=False))
        for key, value in (named or {}).items():
            if key not in names:
                raise ValueError(f"{self.name} has no parameter {key!r}; it has {', '.join(names)}")
            if key in values:
                raise ValueError(f"{self.name}: {key} is given twice")
            values[key] = value
        fallback = {**self.defaults(), **(defaults or {})}
        out: dict[str, Number] = {}
        for p in self.params:
            out[p.name] = p.check(values.get(p.name, fallback[p.name]))
        for small, big in self.less_than:
            if not out[small] < out[big]:
                raise ValueError(
                    f"{self.name}: need {small} < {big}, got {out[small]} and {out[big]}"
                )
        return out


# The library's strategies as the settings see them (strategy/library.py maps each name to its
# class; tests/strategy/test_library.py checks the two agree).
CATALOGUE: dict[str, StrategyParams] = {
    spec.name: spec
    for spec in (
        StrategyParams(
            "ema_sma",
            "EMA/SMA crossover: BUY when the EMA crosses above the SMA, SELL when below",
            (Param("ema_period", 5, 1, 10_000), Param("sma_period", 10, 2, 10_000)),
            (("ema_period", "sma_period"),),
        ),
        StrategyParams(
            "rsi",
            "RSI mean reversion: BUY on falling into oversold, SELL on rising into overbought",
            (
                Param("period", 14, 1, 10_000),
                Param("oversold", 30.0, 1.0, 99.0, integer=False),
                Param("overbought", 70.0, 1.0, 99.0, integer=False),
            ),
            (("oversold", "overbought"),),
        ),
        StrategyParams(
            "macd",
            "MACD crossover: BUY when the MACD line crosses above its signal line, SELL below",
            (
                Param("fast", 12, 1, 10_000),
                Param("slow", 26, 2, 10_000),
                Param("signal", 9, 1, 10_000),
            ),
            (("fast", "slow"),),
        ),
        StrategyParams(
            "bollinger",
            "Bollinger reversion: BUY when the close falls below the lower band, SELL above the"
            " upper",
            (Param("period", 20, 2, 10_000), Param("k", 2.0, 0.1, 10.0, integer=False)),
        ),
    )
}
ALIASES = {"ema_sma_crossover": "ema_sma", "bbands": "bollinger"}


def spec_of(name: str) -> StrategyParams:
    """The catalogue entry for `name` (or an alias); ValueError listing the known names."""
    spec = CATALOGUE.get(ALIASES.get(name, name))
    if spec is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(CATALOGUE)}")
    return spec


@dataclass(frozen=True, slots=True)
class VariantSettings:
    """One variant: its own stop-loss, strategy with parameters, and candle interval.

    For the EMA/SMA crossover the periods are `ema_period`/`sma_period` (and `params` stays
    empty); another strategy keeps every parameter, defaults filled in, in `params`.
    """

    name: str
    stop_loss: Decimal
    ema_period: int = 5
    sma_period: int = 10
    strategy: str = DEFAULT_STRATEGY
    params: tuple[tuple[str, Number], ...] = ()
    interval: str = DEFAULT_INTERVAL

    def parameters(self) -> dict[str, Number]:
        """The strategy's parameters by name (what `strategy.library.build_strategy` takes)."""
        if self.strategy == DEFAULT_STRATEGY:
            return {"ema_period": self.ema_period, "sma_period": self.sma_period}
        return dict(self.params)

    @property
    def spec(self) -> str:
        """The variant's strategy as the settings would write it: `rsi(period=14,…)@5m`."""
        args = ",".join(f"{k}={v}" for k, v in self.parameters().items())
        return f"{self.strategy}({args})@{self.interval}"


def split_entries(text: str) -> list[str]:
    """Split on commas outside parentheses; empty entries are dropped."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ')' in {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise ValueError(f"unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_variants(text: str, ema_default: int, sma_default: int) -> list[VariantSettings]:
    """`VARIANTS` -> variants; ValueError (one line naming the variant) on any mistake."""
    variants: list[VariantSettings] = []
    for entry in split_entries(text):
        variant = _parse_entry(entry, ema_default, sma_default)
        if any(v.name == variant.name for v in variants):
            raise ValueError(f"variant {variant.name} is given twice")
        variants.append(variant)
    if not variants:
        raise ValueError("at least one variant is needed")
    return variants


def _parse_entry(entry: str, ema_default: int, sma_default: int) -> VariantSettings:
    body, at, interval = entry.rpartition("@") if "@" in entry else (entry, "", DEFAULT_INTERVAL)
    interval = interval.strip()
    fields = body.split(":", 2)
    if len(fields) < 2:
        raise ValueError(
            f"{entry!r} should be NAME:STOP_LOSS[:EMA:SMA | :STRATEGY(ARGS)][@INTERVAL],"
            " e.g. A:0.15 or B:0.10:rsi(14,30,70)@5m"
        )
    name = fields[0].strip()
    if not name.isalnum() or len(name) > 8:
        raise ValueError(f"variant name {name!r} must be 1-8 letters or digits")
    stop = _stop_loss(fields[1].strip(), name)
    if at and interval not in INTERVALS:
        raise ValueError(f"interval of {name}: {interval!r} is not one of {', '.join(INTERVALS)}")
    rest = fields[2].strip() if len(fields) == 3 else ""
    if not rest:
        return VariantSettings(name, stop, ema_default, sma_default, interval=interval)
    if re.fullmatch(r"[^:()]*:[^:()]*", rest):  # legacy NAME:STOP:EMA:SMA
        ema_text, sma_text = rest.split(":")
        try:
            ema, sma = int(ema_text), int(sma_text)
        except ValueError:
            raise ValueError(f"periods of {name} must be whole numbers") from None
        if not 1 <= ema < sma:
            raise ValueError(f"periods of {name}: need 1 <= ema < sma, got {ema} and {sma}")
        return VariantSettings(name, stop, ema, sma, interval=interval)
    return _strategy_variant(name, stop, rest, interval, ema_default, sma_default)


def _strategy_variant(
    name: str, stop: Decimal, text: str, interval: str, ema_default: int, sma_default: int
) -> VariantSettings:
    match = _SPEC.match(text)
    if match is None:
        raise ValueError(
            f"strategy of {name}: {text!r} should be STRATEGY or STRATEGY(ARGS), e.g. rsi(14,30,70)"
        )
    strategy_name, args = match.group(1).lower(), match.group(2)
    try:
        spec = spec_of(strategy_name)
        positional, named = _arguments(args or "", spec.name)
        defaults = None
        if spec.name == DEFAULT_STRATEGY:  # its defaults are the EMA_PERIOD/SMA_PERIOD settings
            defaults = {"ema_period": ema_default, "sma_period": sma_default}
        values = spec.resolve(positional, named, defaults)
    except ValueError as exc:
        raise ValueError(f"strategy of {name}: {exc}") from None
    if spec.name == DEFAULT_STRATEGY:
        ema, sma = int(values["ema_period"]), int(values["sma_period"])
        return VariantSettings(name, stop, ema, sma, interval=interval)
    return VariantSettings(
        name, stop, ema_default, sma_default, spec.name, tuple(values.items()), interval
    )


def _arguments(text: str, strategy: str) -> tuple[tuple[Number, ...], dict[str, Number]]:
    positional: list[Number] = []
    named: dict[str, Number] = {}
    for raw in (a.strip() for a in text.split(",")) if text.strip() else ():
        key, eq, value = raw.partition("=")
        if eq:
            key = key.strip().lower()
            if not _NAME.match(key):
                raise ValueError(f"{strategy}: {key!r} is not a parameter name")
            if key in named:
                raise ValueError(f"{strategy}: {key} is given twice")
            named[key] = _number(value.strip(), strategy)
        else:
            if named:
                raise ValueError(f"{strategy}: a plain number after a named one ({raw!r})")
            positional.append(_number(raw, strategy))
    return tuple(positional), named


def _number(text: str, strategy: str) -> Number:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{strategy}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{strategy}: {text!r} is not a finite number")
    return value


def _stop_loss(text: str, name: str) -> Decimal:
    try:
        stop = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"stop-loss {text!r} is not a number") from None
    if not stop.is_finite():
        raise ValueError(f"stop-loss {text!r} is not a finite number")
    if not Decimal(0) < stop < Decimal(1):
        raise ValueError(f"stop-loss of {name} must be between 0 and 1, got {stop}")
    return stop
