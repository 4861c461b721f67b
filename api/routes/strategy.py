"""GET /strategy: parameters, variants (state and money), indicator values per symbol."""

from __future__ import annotations

from fastapi import APIRouter

from api.convert import money_out
from api.deps import ServiceDep
from api.schemas import StrategyOut, StrategyVariantOut
from api.serialize import plain

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
