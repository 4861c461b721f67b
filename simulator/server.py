"""The simulator: one aiohttp server for REST (/api/v3/...) and streams (/ws, /stream)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from types import TracebackType

from aiohttp import web

from simulator import errors, views
from simulator.accounts import Accounts
from simulator.auth import verify
from simulator.clock import MarketClock
from simulator.config import SimulatorConfig
from simulator.controls import Controls
from simulator.endpoint import Endpoint
from simulator.engine import Engine
from simulator.faults import FaultInjector, ScriptedFault
from simulator.market import Trade
from simulator.order_count import OrderCounter
from simulator.params import Params
from simulator.ratelimit import WeightMeter
from simulator.rest_market import MarketDataApi
from simulator.rest_public import PublicApi
from simulator.rest_signed import SignedApi
from simulator.rest_trading import TradingApi
from simulator.restore import restore_account
from simulator.state import MarketState
from simulator.streams import StreamServer
from simulator.time_unit import to_micros, wants_micros
from simulator.user_data import UserDataHub
from simulator.ws_api import WsApi

log = logging.getLogger(__name__)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Unknown routes and methods answer Binance-style JSON, not aiohttp's text pages."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        err = errors.unsupported()
        return web.json_response(err.body(), status=exc.status)


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


class Simulator:
    """A local stand-in for the Binance Spot Testnet (see README "Simulator")."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.state = MarketState.build(self.config)
        self.faults = FaultInjector(self.config.faults, self.config.seed)
        self.accounts = Accounts(self.config, self.state)
        self.user_data = UserDataHub()
        self.engine = Engine(self.state, self.accounts, self.user_data)
        if self.config.restore:
            restore_account(self.state, self.engine, self.config.api_key, self.config.restore)
        self.order_counter = OrderCounter(
            self.config.orders_per_10s, now=lambda: self.clock.now_ms() / 1000
        )
        self.engine.on_order = self.order_counter.record
        self.controls = Controls(self.state, self.engine.reset)
        self._meter = WeightMeter(self.config.weight_limit_1m)
        self._streams = StreamServer(self.state, self.faults)
        self._runner: web.AppRunner | None = None
        self._ws_api: WsApi | None = None
        self._broadcaster: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._host = ""
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def clock(self) -> MarketClock:
        return self.state.clock

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the simulator is not started")
        return self._port

    @property
    def rest_url(self) -> str:
        """For python-binance's `client.API_TESTNET_URL`."""
        return f"http://{self._host}:{self.port}/api"

    @property
    def ws_api_url(self) -> str:
        """The WebSocket API (python-binance's `WS_API_TESTNET_URL`)."""
        return f"ws://{self._host}:{self.port}/ws-api/v3"

    @property
    def stream_url(self) -> str:
        """For python-binance's `BinanceSocketManager.STREAM_TESTNET_URL`."""
        return f"ws://{self._host}:{self.port}/"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (0: a free port) and start the market clock."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already started")
        app = web.Application(middlewares=[json_errors])
        endpoints = self._endpoints()
        for endpoint in endpoints:
            app.router.add_route(endpoint.method, endpoint.path, self._route(endpoint))
        self._ws_api = WsApi(
            self.state,
            endpoints,
            self._meter,
            self.order_counter,
            self.user_data,
            self.server_time_ms,
        )
        app.router.add_get("/ws-api/v3", self._ws_api.handle)
        app.router.add_get("/ws", self._streams.handle)
        app.router.add_get("/ws/{tail:.*}", self._streams.handle)
        app.router.add_get("/stream", self._streams.handle)
        app.router.add_get("/sim/clock", self._clock)
        app.router.add_get("/sim/info", self._info)
        app.router.add_post("/sim/shock", self.controls.handle_shock)
        app.router.add_post("/sim/reset", self.controls.handle_reset)
        app.router.add_post("/sim/faults", self._script_fault)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        address = runner.addresses[0]
        self._host, self._port = host, int(address[1])
        self.clock.run()
        self._broadcaster = asyncio.create_task(self._streams.run(), name="sim-broadcast")
        log.info("simulator listening: REST %s, streams %s", self.rest_url, self.stream_url)

    async def stop(self) -> None:
        """Close every connection and the server; idempotent."""
        self._stopping.set()
        if self._broadcaster is not None:
            self._broadcaster.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._broadcaster
            self._broadcaster = None
        await self._streams.close_all()
        if self._ws_api is not None:
            await self._ws_api.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- REST dispatch ---------------------------------------------------------------------

    def _endpoints(self) -> list[Endpoint]:
        public = PublicApi(self.state, self.server_time_ms).endpoints()
        public += MarketDataApi(self.state).endpoints()
        signed = SignedApi(self.state, self.engine)
        trading = TradingApi(self.state, signed, self.engine, self.order_counter)
        return public + signed.endpoints() + trading.endpoints()

    def _route(self, endpoint: Endpoint):  # type: ignore[no-untyped-def]
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._dispatch(request, endpoint)

        return handle

    async def _dispatch(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        body = await request.text() if request.can_read_body else ""
        params = Params(request.rel_url.raw_query_string, body)
        client = request.remote or "?"
        used = self._meter.charge(client, endpoint.cost(params.mapping()))
        headers = {"X-MBX-USED-WEIGHT": str(used), "X-MBX-USED-WEIGHT-1M": str(used)}
        self.state.stats["rest_requests"] += 1
        api_key = None
        try:
            self._meter.check(client, used)
            micros = wants_micros(request.headers)
            scripted = self.faults.take_scripted(request.method, endpoint.path)
            fault = scripted or self.faults.rest_fault(endpoint.order, endpoint.path)
            if fault == "-1021":
                raise errors.timestamp_stale()
            if fault == "429":
                self.state.stats["injected_429"] += 1
                raise errors.too_much_weight(self._meter.limit, self.config.faults.retry_after_s)
            if fault == "500":
                self.state.stats["injected_500"] += 1
                raise errors.internal_error()
            if endpoint.signed:
                api_key = verify(
                    params,
                    request.headers.get("X-MBX-APIKEY"),
                    self.config.credentials(),
                    self.server_time_ms(),
                    self.config.speed if self.config.recv_window_in_real_ms else 1.0,
                    self.config.check_timestamps,
                )
            if endpoint.order and request.method == "POST" and api_key is not None:
                self.order_counter.check(api_key)
            result = await endpoint.handler(params, api_key)
        except errors.ApiError as err:
            self.state.stats[f"error_{err.code}"] += 1
            return web.Response(
                text=_dumps(err.body()),
                status=err.status,
                content_type="application/json",
                headers={**headers, **err.headers, **self._order_counts(endpoint, api_key)},
            )
        hang = fault == "hang" or self.faults.hang_order()
        if endpoint.order and request.method == "POST" and hang:
            return await self._hang(request)
        headers.update(self._order_counts(endpoint, api_key))
        text = _dumps(to_micros(result) if micros else result)
        return web.Response(text=text, content_type="application/json", headers=headers)

    def _order_counts(self, endpoint: Endpoint, api_key: str | None) -> dict[str, str]:
        """X-MBX-ORDER-COUNT-10S / -1D on the answers of order requests."""
        if not endpoint.order or api_key is None:
            return {}
        return self.order_counter.headers(api_key)

    async def _hang(self, request: web.Request) -> web.StreamResponse:
        """The order executed; hold the response, then drop the connection without one."""
        self.state.stats["orders_hung"] += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.config.faults.order_hang_s)
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError

    def server_time_ms(self) -> int:
        """The time the server answers with and checks signatures against (it may drift)."""
        return self.faults.server_time_ms(self.clock.now_ms(), self.clock.start_ms)

    async def _script_fault(self, request: web.Request) -> web.StreamResponse:
        """Not Binance: queue scripted faults, e.g. {"fault": "-1021", "path": "order",
        "method": "GET", "times": 3} (a fault matrix for tests and demos)."""
        try:
            body = await request.json()
            items = body if isinstance(body, list) else [body]
            faults = [ScriptedFault(**item) for item in items]
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": f"bad fault script: {exc}"}, status=400)
        for fault in faults:
            self.faults.script(fault)
        return web.json_response({"scripted": len(faults)})

    async def _clock(self, request: web.Request) -> web.StreamResponse:
        """Not Binance: the market clock (never drifting), for a client that follows it."""
        return web.json_response({"now_ms": self.clock.now_ms(), "speed": self.config.speed})

    async def _info(self, request: web.Request) -> web.StreamResponse:
        """Not Binance: the simulator's own settings, for tools pointed at a standalone run."""
        info = {
            "serverTime": self.clock.now_ms(),
            "startTime": self.clock.start_ms,
            "speed": self.config.speed,
            "seed": self.config.seed,
            "symbols": list(self.config.symbols),
            "tradeRate": self.config.trade_rate,
            "stats": self.stats(),
        }
        return web.json_response(info)

    # -- test helpers ----------------------------------------------------------------------

    def trades(self, symbol: str) -> list[Trade]:
        """Every trade released so far (kept in memory up to max_trades_per_symbol)."""
        self.state.advance()
        return list(self.state.tape(symbol).trades)

    def klines(self, symbol: str) -> list[list[object]]:
        """All 1m klines (REST rows) from the first trade's minute; the last one is open."""
        self.state.advance()
        return [c.rest_row() for c in self.state.tape(symbol).candles]

    def all_orders(self, api_key: str | None = None) -> list[dict[str, object]]:
        """Every order (of one account, or of all), as GET /api/v3/allOrders shows it."""
        self.state.advance()
        return [views.query(o) for o in self.accounts.all_orders(api_key)]

    def balances(self, api_key: str | None = None) -> dict[str, Decimal]:
        """Free balances of an account (default: the main api_key)."""
        self.state.advance()
        return dict(self.accounts.account(api_key or self.config.api_key).free)

    def stats(self) -> dict[str, int]:
        """Counters: rest_requests, stream_connections, stream_drops, frames_malformed, ..."""
        return dict(self.state.stats)
