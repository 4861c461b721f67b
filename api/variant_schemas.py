"""Bodies of the performance and variant-control routes (and of the /ws `performance` message),
and the functions that build them from the service's objects."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from api.convert import money_out
from api.schemas import DecimalStr, Fraction, NumberIn, VariantMoneyOut
from api.serialize import iso_ms, plain
from core.variants import VariantSettings
from execution.numbers import pct_text, quote_text
from service.performance import Figures, PerformanceReport


class FiguresOut(BaseModel):
    """Performance of a variant or of one of its symbols, from the journal's fills since the
    last exchange reset (definitions: docs/trading.md, "Performance")."""

    round_trips: int = Field(description="closed positions: first entry fill to closing exit")
    wins: int = Field(description="round trips with P&L > 0")
    win_rate: float = Field(description="wins / round trips (0..1)")
    realized_pnl: DecimalStr
    unrealized_pnl: DecimalStr
    pnl: DecimalStr = Field(description="realized + unrealized")
    fees: DecimalStr = Field(description="every fill's commission, valued in quote")
    return_pct: DecimalStr = Field(description="pnl / capital × 100")
    max_drawdown_pct: DecimalStr = Field(
        description="largest fall of equity (capital + pnl) from its peak, marked at fills"
        " and candle closes, % of the peak"
    )
    stops_hit: int = Field(description="round trips ended by the stop-loss")
    exposure: float = Field(description="share of the time a position was held (0..1)")
    avg_hold_s: float | None = Field(description="mean round-trip duration; null: none yet")
    open_positions: int


class VariantPerformanceOut(BaseModel):
    variant: str
    capital: DecimalStr
    equity: DecimalStr = Field(description="capital + realized + unrealized")
    totals: FiguresOut
    symbols: dict[str, FiguresOut]


class PerformanceOut(BaseModel):
    time_ms: int
    time_iso: str
    start_ms: int = Field(
        description="since: the first mark of the equity (a fill or a closed candle) after the"
        " last reset, the same after a restart; the service's start before any"
    )
    start_iso: str
    variants: list[VariantPerformanceOut]
    total: VariantMoneyOut = Field(
        description="every variant together: capitals and equities added up, the return and"
        " drawdown of that sum"
    )


class EquityPointOut(BaseModel):
    time_ms: int
    equity: DecimalStr


class PeriodPnlOut(BaseModel):
    """A variant's realized P&L in one UTC period (execution.periods defines it)."""

    variant: str
    start_ms: int = Field(description="the period's first millisecond, UTC")
    label: str = Field(description="2026-12-07 (day), 2026-W49 (ISO week), 2026-12 (month)")
    realized_pnl: DecimalStr = Field(
        description="the realized P&L of the fills in the period (SELLs at average cost, fees"
        " included)"
    )
    fills: int


class PeriodsOut(BaseModel):
    period: Literal["day", "week", "month"]
    start_ms: int = Field(description="fills since: the start of GET /performance")
    periods: list[PeriodPnlOut] = Field(description="oldest first, then by variant")


class EquityCurveOut(BaseModel):
    variant: str
    capital: DecimalStr
    points: list[EquityPointOut] = Field(
        description="equity marked at fills and candle closes, oldest first (a page: see the"
        " X-Next-Cursor header)"
    )


class IndicatorPointOut(BaseModel):
    time_ms: int = Field(description="open time of the variant's bar (epoch ms)")
    values: dict[str, float | None] = Field(
        description="the strategy's indicator values after the bar; null until it is ready"
    )


class IndicatorsOut(BaseModel):
    variant: str
    symbol: str
    spec: str = Field(description="the variant's strategy, e.g. rsi(period=14,…)@5m")
    price_lines: list[str] = Field(description="values in price: drawn over the candles")
    pane_lines: list[str] = Field(description="other values (RSI, MACD): a pane of their own")
    points: list[IndicatorPointOut] = Field(description="oldest first")


class VariantOut(BaseModel):
    """A variant as it runs now, and its state."""

    name: str
    stop_loss: DecimalStr
    strategy: str
    parameters: dict[str, int | float]
    interval: str
    state: Literal["active", "paused", "halted"]
    state_reason: str | None
    paused: bool = Field(description="a person paused it (POST /variants/{name}/pause)")


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=200, description="shown with the state")


class VariantPatchIn(BaseModel):
    """What to change; at least one of the two. Checked like the VARIANTS setting."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    stop_loss: Fraction | SkipJsonSchema[None] = Field(
        default=None, description="e.g. 0.08 for 8 %"
    )
    parameters: Annotated[dict[str, NumberIn], Field(min_length=1)] | SkipJsonSchema[None] = Field(
        default=None, description='the strategy\'s parameters by name, e.g. {"ema_period": 4}'
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        """Leave a field out to keep it; `null` is no value (the schema has none)."""
        if isinstance(data, dict):
            for name in ("stop_loss", "parameters"):
                if name in data and data[name] is None:
                    raise ValueError(f"{name}: null is not a value; leave {name} out to keep it")
        return data


class CloseAllOut(BaseModel):
    variant: str
    closed: list[str] = Field(description="symbols whose position was sold")
    refused: dict[str, str] = Field(description="symbol -> why its exit was refused")


def figures_out(f: Figures) -> FiguresOut:
    s = f.stats
    return FiguresOut(
        round_trips=s.round_trips, wins=s.wins, win_rate=round(s.win_rate, 4),
        realized_pnl=quote_text(f.realized_pnl), unrealized_pnl=quote_text(f.unrealized_pnl),
        pnl=quote_text(f.realized_pnl + f.unrealized_pnl), fees=quote_text(f.fees),
        return_pct=pct_text(f.return_pct),
        max_drawdown_pct=pct_text(f.max_drawdown_pct), stops_hit=s.stops_hit,
        exposure=round(s.exposure, 4),
        avg_hold_s=None if s.avg_hold_ms is None else s.avg_hold_ms / 1000,
        open_positions=f.open_positions,
    )  # fmt: skip


def performance_out(report: PerformanceReport) -> PerformanceOut:
    return PerformanceOut(
        time_ms=report.time_ms,
        time_iso=iso_ms(report.time_ms),
        start_ms=report.start_ms,
        start_iso=iso_ms(report.start_ms),
        variants=[
            VariantPerformanceOut(
                variant=v.variant,
                capital=quote_text(v.capital),
                equity=quote_text(v.equity),
                totals=figures_out(v.figures),
                symbols={s: figures_out(f) for s, f in sorted(v.symbols.items())},
            )
            for v in report.variants
        ],
        total=money_out(report.total),
    )


def variant_out(v: VariantSettings, state: str, reason: str | None, paused: bool) -> VariantOut:
    return VariantOut(
        name=v.name, stop_loss=plain(v.stop_loss), strategy=v.strategy,
        parameters=v.parameters(), interval=v.interval, state=state,  # type: ignore[arg-type]
        state_reason=reason, paused=paused,
    )  # fmt: skip
