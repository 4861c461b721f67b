"""Control of the variants at run time: pause, resume, close all, change stop-loss/parameters.

Every command needs the token, is journaled before it takes effect and survives a restart
(service.controls). Paused: no new entries; exits, stops and closes keep working.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException

from api.auth import TokenRequired
from api.deps import ServiceDep, VariantPath
from api.schemas import errors
from api.variant_schemas import CloseAllOut, PauseIn, VariantOut, VariantPatchIn, variant_out
from service.container import Service

router = APIRouter(prefix="/variants", tags=["variants"])


def _out(service: Service, name: str) -> VariantOut:
    state = service.states.of(name)
    return variant_out(
        service.controls.get(name), state.state.value, state.reason, service.controls.paused(name)
    )


def _known(service: Service, name: str) -> None:
    names = [v.name for v in service.controls.variants()]
    if name not in names:
        raise HTTPException(404, detail=f"variant {name!r} is not one of {names}")


@router.get("", response_model=list[VariantOut])
async def variants(service: ServiceDep) -> list[VariantOut]:
    """Every variant as it runs now (stop-loss, strategy, parameters, interval) and its state."""
    return [_out(service, v.name) for v in service.controls.variants()]


@router.post(
    "/{name}/pause",
    response_model=VariantOut,
    dependencies=[TokenRequired],
    responses=errors(401, 404, 422),
)
async def pause(
    service: ServiceDep, name: VariantPath, body: Annotated[PauseIn | None, Body()] = None
) -> VariantOut:
    """No new entries for this variant (refused with the reason); exits and stops go on."""
    _known(service, name)
    await service.controls.pause(name, body.reason if body is not None else "")
    return _out(service, name)


@router.post(
    "/{name}/resume", response_model=VariantOut, dependencies=[TokenRequired],
    responses=errors(401, 404),
)  # fmt: skip
async def resume(service: ServiceDep, name: VariantPath) -> VariantOut:
    """Entries allowed again (other limits, e.g. the daily loss, still apply)."""
    _known(service, name)
    await service.controls.resume(name)
    return _out(service, name)


@router.post(
    "/{name}/close-all",
    response_model=CloseAllOut,
    dependencies=[TokenRequired],
    responses=errors(401, 404, 409),
)
async def close_all(service: ServiceDep, name: VariantPath) -> CloseAllOut:
    """Sell every open position of the variant at market (the same path as a manual close).
    It does not pause the variant: pause first to stay flat."""
    _known(service, name)
    if not service.trading_ready:
        raise HTTPException(409, detail=service.not_trading())
    outcomes = await service.controls.close_all(name)
    return CloseAllOut(
        variant=name,
        closed=[o.symbol for o in outcomes if o.filled],
        refused={o.symbol: o.error or o.status.value for o in outcomes if not o.filled},
    )


@router.patch(
    "/{name}",
    response_model=VariantOut,
    dependencies=[TokenRequired],
    responses=errors(401, 404, 422),
)
async def configure(service: ServiceDep, name: VariantPath, patch: VariantPatchIn) -> VariantOut:
    """Change the stop-loss and/or the strategy's parameters (checked like VARIANTS; a bad
    value is a 422 with the reason and changes nothing). Open positions keep their entry;
    their stop price follows the new stop-loss."""
    _known(service, name)
    try:
        await service.controls.configure(name, patch.stop_loss, patch.parameters)
    except ValueError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    return _out(service, name)
