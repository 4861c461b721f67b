"""The FastAPI app factory. The app owns the service's lifecycle through its lifespan."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import ws
from api.candle_cache import CandleJsonCache
from api.routes import (
    candles,
    health,
    metrics,
    orders,
    positions,
    signals,
    strategy,
    symbols,
    ticks,
    trades,
)
from service.container import Service

log = logging.getLogger(__name__)

DESCRIPTION = """EMA/SMA crossover trading service for the Binance Spot Testnet.

Money is a decimal string; times are epoch milliseconds with ISO-8601 UTC twins (`*_iso`).
Mutating routes and `/ws` need `Authorization: Bearer <API_TOKEN>` (or `?token=`) when the
service has an API_TOKEN. Live events: WebSocket `/ws`.
"""


def create_app(service: Service) -> FastAPI:
    """An app serving `service`; entering its lifespan starts the service, leaving stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="Binance Testnet trader",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = service.settings
    app.state.candle_cache = CandleJsonCache(service.settings.candle_history + 10)
    if service.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=service.settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    for module in (health, symbols, candles, ticks, signals, positions, orders, trades, strategy):
        app.include_router(module.router)
    app.include_router(metrics.router)
    app.include_router(ws.router)
    _include_dashboard(app)

    return app


def _include_dashboard(app: FastAPI) -> None:
    """The dashboard's router, when its module exists (the API works without it)."""
    try:
        dashboard = importlib.import_module("api.dashboard")
    except ModuleNotFoundError as exc:
        if exc.name != "api.dashboard":
            raise
        log.info("no dashboard module: serving the API only")
        return
    app.include_router(dashboard.router)
