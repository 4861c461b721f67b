"""`--param NAME=V1,V2,…` and `NAME=LO:HI:STEP`: the values an optimisation searches.

Sans-I/O. Each parameter is one of the strategy's (core.variants.CATALOGUE, with its bounds
and whole-number rule) or `stop_loss` (a fraction, 0 < x < 1, as VARIANTS takes it). A
mistake is a `ParamError` of one line naming the parameter, raised before any work. A
setting that breaks a constraint of the strategy (the EMA shorter than the SMA) is left
out of the grid and counted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from core.errors import BadInputError
from core.variants import Number, StrategyParams, spec_of

STOP_LOSS = "stop_loss"
SAMPLERS = ("grid", "random", "tpe", "nsga2")  # how a space is searched (optimize.search)
MAX_VALUES = 10_000  # per parameter: a range that would list more is a typo


class ParamError(BadInputError):
    """A --param the strategy cannot take."""


Value = Number | Decimal  # Decimal for the stop-loss, the strategy's own type otherwise


@dataclass(frozen=True, slots=True)
class Setting:
    """One point of the search: the strategy's parameters and the stop-loss."""

    params: tuple[tuple[str, Number], ...]
    stop_loss: Decimal

    @classmethod
    def of(cls, params: Mapping[str, Number | str]) -> Setting:
        """The setting `as_dict` wrote."""
        rest = tuple((k, v) for k, v in params.items() if k != STOP_LOSS)
        return cls(rest, Decimal(str(params[STOP_LOSS])))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Number | str]:
        """{name: value} with the stop-loss as a string (JSON keeps it exact)."""
        return {**dict(self.params), STOP_LOSS: str(self.stop_loss)}


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """The values of every searched parameter, in the order given; the others keep the
    strategy's defaults (and the stop-loss `default_stop`)."""

    strategy: StrategyParams
    values: dict[str, tuple[Value, ...]]
    default_stop: Decimal

    def setting(self, chosen: Mapping[str, Value]) -> Setting | None:
        """The setting of `chosen` values (others at their defaults); None when it breaks a
        constraint of the strategy."""
        params = dict(self.strategy.defaults())
        for name, value in chosen.items():
            if name != STOP_LOSS:
                params[name] = value  # type: ignore[assignment]
        for small, large in self.strategy.less_than:
            if not params[small] < params[large]:
                return None
        stop = chosen.get(STOP_LOSS, self.default_stop)
        return Setting(tuple(params.items()), Decimal(str(stop)))

    def grid(self) -> Iterator[dict[str, Value]]:
        """Every combination of the values, the first parameter changing slowest."""
        names = list(self.values)
        for combo in itertools.product(*(self.values[n] for n in names)):
            yield dict(zip(names, combo, strict=True))

    def size(self) -> int:
        total = 1
        for values in self.values.values():
            total *= len(values)
        return total

    def valid_grid(self) -> tuple[list[Setting], int]:
        """(the settings of the grid that the strategy accepts, how many it refuses)."""
        kept: list[Setting] = []
        skipped = 0
        for chosen in self.grid():
            setting = self.setting(chosen)
            if setting is None:
                skipped += 1
            else:
                kept.append(setting)
        return kept, skipped


def parse_space(
    strategy: str, texts: list[str], default_stop: Decimal = Decimal("0.10")
) -> SearchSpace:
    """The search space of `--param` texts for `strategy` (ParamError on any mistake)."""
    try:
        spec = spec_of(strategy)
    except ValueError as exc:
        raise ParamError(f"--strategy: {exc}") from None
    known = {p.name: p for p in spec.params}
    values: dict[str, tuple[Value, ...]] = {}
    for text in texts:
        name, sep, body = text.partition("=")
        name = name.strip()
        if not sep or not name or not body.strip():
            raise ParamError(f"--param {text!r}: write NAME=V1,V2 or NAME=LO:HI:STEP")
        if name != STOP_LOSS and name not in known:
            names = ", ".join([*known, STOP_LOSS])
            raise ParamError(f"--param {name}: {spec.name} has no such parameter; it has {names}")
        if name in values:
            raise ParamError(f"--param {name}: given twice")
        raw = _expand(name, body.strip())
        if name == STOP_LOSS:
            values[name] = tuple(_check_stop(v) for v in raw)
        else:
            param = known[name]
            checked: list[Value] = []
            for v in raw:
                try:
                    checked.append(param.check(float(v) if not param.integer else _whole(name, v)))
                except ValueError as exc:
                    raise ParamError(f"--param {exc}") from None
            values[name] = tuple(dict.fromkeys(checked))
    if not values:
        raise ParamError("give at least one --param NAME=V1,V2 to search")
    return SearchSpace(spec, values, default_stop)


def _expand(name: str, body: str) -> list[Decimal]:
    """`V1,V2,…` or `LO:HI:STEP` (both ends included) as exact decimals."""
    if ":" in body:
        parts = body.split(":")
        if len(parts) != 3:
            raise ParamError(f"--param {name}={body}: a range is LO:HI:STEP")
        low, high, step = (_number(name, p) for p in parts)
        if step <= 0:
            raise ParamError(f"--param {name}={body}: the step must be above 0")
        if high < low:
            raise ParamError(f"--param {name}={body}: LO is above HI")
        count = int((high - low) / step) + 1
        if count > MAX_VALUES:
            raise ParamError(f"--param {name}={body}: {count} values (at most {MAX_VALUES})")
        return [low + step * n for n in range(count)]
    items = [p.strip() for p in body.split(",")]
    if any(not p for p in items):
        raise ParamError(f"--param {name}={body}: an empty value")
    return [_number(name, p) for p in items]


def _number(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ParamError(f"--param {name}: {text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise ParamError(f"--param {name}: {text.strip()!r} is not a number")
    return value


def _whole(name: str, value: Decimal) -> int:
    if value != value.to_integral_value():
        raise ParamError(f"--param {name} must be a whole number, got {value}")
    return int(value)


def _check_stop(value: Decimal) -> Decimal:
    if not Decimal(0) < value < Decimal(1):
        raise ParamError(f"--param {STOP_LOSS} must be between 0 and 1 (0.10 is 10 %), got {value}")
    return value
