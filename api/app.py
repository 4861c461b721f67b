"""The FastAPI app factory. The app owns the service's lifecycle through its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import openapi, ws
from api.candle_cache import CandleJsonCache
from api.errors import http_error, ledger_unavailable, validation_error
from api.guard import RequestGuard
from api.routes import (
    candles,
    health,
    metrics,
    optimizations,
    orders,
    performance,
    positions,
    signals,
    strategy,
    symbols,
    ticks,
    trades,
    variants,
)
from api.routes import research as research_routes
from execution.ledger import LedgerUnavailableError
from optimize.studies import StudyReader
from research.jobs import ResearchJobs
from service.container import Service

log = logging.getLogger(__name__)

DESCRIPTION = """EMA/SMA crossover trading service for the Binance Spot Testnet.

Money is a decimal string; times are epoch milliseconds with ISO-8601 UTC twins (`*_iso`).
Mutating routes and `/ws` need `Authorization: Bearer <API_TOKEN>` (or `?token=`; the header
wins) when the service has an API_TOKEN. They refuse another site's `Origin` (403) unless it is
in CORS_ORIGINS; every route refuses a `Host` the service does not answer to (400). Request
bodies are JSON (415 otherwise) of at most API_MAX_BODY_BYTES (413). Live events: WebSocket `/ws`.
"""


# Generation-0 collections every 50,000 allocations instead of 700, older generations rarely.
# A WebSocket fan-out to 1,000 clients allocates ~10,000 objects per event; with the defaults,
# full collections over every connection's objects took ~120 ms of one event's fan-out
# (bench/ws_fanout.py: fan-out CPU p99 ~150 ms -> ~32 ms).
GC_THRESHOLDS = (50_000, 20, 20)


@contextlib.contextmanager
def server_gc() -> Iterator[None]:
    """Cycle collection tuned for a long-running server, restored afterwards: what exists at
    start (modules, the app, warm-up history) is frozen out of collections, and collections
    run less often. Reference counting still frees everything without cycles at once."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def create_app(
    service: Service, studies: StudyReader | None = None, research: ResearchJobs | None = None
) -> FastAPI:
    """An app serving `service`; entering its lifespan starts the service, leaving stops it.
    `studies`: where GET /optimizations reads the optimiser's runs (none: an empty list).
    `research`: the jobs the page starts (none: /research answers 503)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        if research is not None:
            await research.load()
        try:
            with server_gc():
                yield
        finally:
            if research is not None:
                await research.close()
            await service.stop()

    app = FastAPI(
        title="Binance Testnet trader",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.settings = service.settings
    app.state.studies = studies
    app.state.research = research
    app.state.candle_cache = CandleJsonCache(service.settings.candle_history + 10)
    app.state.frames = ws.FrameParts()  # this app's /ws frame cache (shared by its clients)
    app.state.symbols_lock = asyncio.Lock()  # one change of the symbol set at a time
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(LedgerUnavailableError, ledger_unavailable)
    app.add_exception_handler(StarletteHTTPException, http_error)
    for module in (
        health, symbols, candles, ticks, signals, positions, orders, trades, strategy,
        performance, variants, optimizations, research_routes,
    ):  # fmt: skip
        app.include_router(module.router)
    app.include_router(metrics.router)
    # Middleware, innermost first: /ws in front of the router (see its docstring), the guard in
    # front of both (Host, Origin, token, body), CORS outermost so that its headers are on the
    # guard's refusals too.
    app.add_middleware(ws.WebSocketEndpoint)
    app.add_middleware(RequestGuard, settings=service.settings)
    if service.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=service.settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    _include_dashboard(app)
    openapi.install(app, token_required=service.settings.api_token is not None)
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
