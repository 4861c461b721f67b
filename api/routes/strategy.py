"""GET /strategy: parameters, variants (state and money), indicator values per symbol; GET
/strategy/indicators: a variant's indicator lines."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api.convert import money_out
from api.deps import NAME_PATTERN, SYMBOL_PATTERN, ServiceDep
from api.schemas import StrategyOut, StrategyVariantOut, errors
from api.serialize import plain
from api.variant_schemas import IndicatorPointOut, IndicatorsOut
from strategy.series import PRICE_LINES, indicator_series

router = APIRouter(prefix="/strategy", tags=["strategy"])


@router.get("", response_model=StrategyOut)
async def strategy(service: ServiceDep) -> StrategyOut:
    """What the strategy runs with, each variant's state and money, and where the indicators
    stand. Never a secret."""
    settings = service.settings
    snapshot = service.engine.snapshot()  # JSON-ready: strings, numbers, None
    accounts = service.executor.accounts
    variants: list[StrategyVariantOut] = []
    for v in service.controls.variants():  # as they run now (PATCH /variants/{name})
        state = service.states.of(v.name)
        assert accounts is not None  # built from settings: every service has capital
        variants.append(
            StrategyVariantOut(
                name=v.name,
                stop_loss=plain(v.stop_loss),
                ema_period=v.ema_period,
                sma_period=v.sma_period,
                strategy=v.strategy,
                parameters=v.parameters(),
                interval=v.interval,
                spec=v.spec,
                state=state.state.value,
                state_reason=state.reason,
                paused=service.controls.paused(v.name),
                money=money_out(accounts.money(v.name)),
            )
        )
    return StrategyOut(
        strategy=str(snapshot.get("strategy", "")),
        ema_period=settings.ema_period,
        sma_period=settings.sma_period,
        variants=variants,
        symbols=snapshot.get("symbols", {}),
    )


@router.get("/indicators", response_model=IndicatorsOut, responses=errors(404, 422))
async def indicators(
    service: ServiceDep,
    symbol: Annotated[str, Query(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")],
    variant: Annotated[str, Query(pattern=NAME_PATTERN, description="e.g. A")],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> IndicatorsOut:
    """The variant's indicator lines on `symbol`: its strategy's own values after each bar
    of its interval (strategy.series), over the chart's closed 1-minute candles; the newest
    `limit` points, oldest first. The dashboard draws these and computes none."""
    symbol = symbol.upper()
    try:
        v = service.controls.get(variant)
    except KeyError:
        names = [x.name for x in service.controls.variants()]
        raise HTTPException(404, detail=f"variant {variant!r} is not one of {names}") from None
    if symbol not in service.symbols():
        raise HTTPException(404, detail=f"symbol {symbol} is not traded (GET /symbols)")
    minutes = service.aggregator.history(symbol, service.settings.candle_history)
    points = indicator_series(v.strategy, v.parameters(), v.interval, minutes)[-limit:]
    names = sorted({name for _, values in points for name in values})
    return IndicatorsOut(
        variant=v.name,
        symbol=symbol,
        spec=v.spec,
        price_lines=[n for n in names if n in PRICE_LINES],
        pane_lines=[n for n in names if n not in PRICE_LINES],
        points=[IndicatorPointOut(time_ms=t, values=values) for t, values in points],
    )
