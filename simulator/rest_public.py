"""Unsigned endpoints of /api/v3 (ping, time, exchangeInfo, trades, ...); see rest_market too."""

from __future__ import annotations

import json
from collections.abc import Callable

from simulator import errors
from simulator.endpoint import Endpoint, Handler
from simulator.exchange_info import exchange_info
from simulator.market import agg_trade_rest, trade_rest
from simulator.money import fmt8
from simulator.params import Params
from simulator.state import MarketState


class PublicApi:
    """Handlers of the public endpoints; each releases due trades before it reads."""

    def __init__(self, state: MarketState, server_time: Callable[[], int] | None = None) -> None:
        self._state = state
        self._server_time = server_time or state.clock.now_ms  # the drifting clock, if any

    def endpoints(self) -> list[Endpoint]:
        table: list[tuple[str, int, Handler]] = [
            ("ping", 1, self.ping),
            ("time", 1, self.time),
            ("exchangeInfo", 20, self.exchange_info),
            ("trades", 25, self.trades),
            ("historicalTrades", 25, self.historical_trades),
            ("aggTrades", 4, self.agg_trades),
            ("ticker/price", 2, self.ticker_price),
            ("avgPrice", 2, self.avg_price),
        ]
        return [Endpoint("GET", f"/api/v3/{path}", w, h) for path, w, h in table]

    async def ping(self, params: Params, api_key: str | None) -> object:
        return {}

    async def time(self, params: Params, api_key: str | None) -> object:
        return {"serverTime": self._server_time()}

    async def exchange_info(self, params: Params, api_key: str | None) -> object:
        state = self._state
        names = self._symbols_param(params)
        if names is None:
            specs = list(state.specs.values())
        else:
            specs = [state.tape(name).spec for name in names]
        config = state.config
        return exchange_info(
            specs, state.clock.now_ms(), config.weight_limit_1m, config.orders_per_10s
        )

    async def trades(self, params: Params, api_key: str | None) -> object:
        tape = self._state.tape(params.get("symbol"))
        limit = params.limit(500, 1000)
        self._state.advance()
        return [trade_rest(t) for t in tape.latest(limit)]

    async def historical_trades(self, params: Params, api_key: str | None) -> object:
        tape = self._state.tape(params.get("symbol"))
        limit = params.limit(500, 1000)
        from_id = params.int_("fromId")
        self._state.advance()
        rows = tape.latest(limit) if from_id is None else tape.from_id(from_id, limit)
        return [trade_rest(t) for t in rows]

    async def agg_trades(self, params: Params, api_key: str | None) -> object:
        tape = self._state.tape(params.get("symbol"))
        limit = params.limit(500, 1000)
        from_id = params.int_("fromId")
        start, end = params.int_("startTime"), params.int_("endTime")
        if start is not None and end is not None and end - start > 3_600_000:
            raise errors.ApiError(400, -1127, "More than 1 hours between startTime and endTime.")
        self._state.advance()
        if from_id is not None:
            rows = tape.from_id(from_id, limit)
        elif start is None and end is None:
            rows = tape.latest(limit)
        else:
            rows = tape.between(start, end, limit)
        return [agg_trade_rest(t) for t in rows]

    async def ticker_price(self, params: Params, api_key: str | None) -> object:
        state = self._state
        state.advance()
        symbol = params.get("symbol")
        if symbol is not None:
            tape = state.tape(symbol)
            return {"symbol": tape.spec.symbol, "price": fmt8(tape.last_price)}
        names = self._symbols_param(params) or list(state.tapes)
        tapes = [state.tape(name) for name in names]
        return [{"symbol": t.spec.symbol, "price": fmt8(t.last_price)} for t in tapes]

    async def avg_price(self, params: Params, api_key: str | None) -> object:
        tape = self._state.tape(params.get("symbol"))
        now = self._state.advance()
        close_time = tape.trades[-1].time if tape.trades else now
        return {"mins": 5, "price": fmt8(tape.avg_price(now)), "closeTime": close_time}

    @staticmethod
    def _symbols_param(params: Params) -> list[str] | None:
        """`symbol=X` or `symbols=["X","Y"]` (a JSON array), else None."""
        single, many = params.get("symbol"), params.get("symbols")
        if single is not None and many is not None:
            raise errors.ApiError(400, -1128, "Combination of optional parameters invalid.")
        if single is not None:
            return [single]
        if many is None:
            return None
        try:
            names = json.loads(many)
        except ValueError:
            raise errors.illegal("symbols") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
            raise errors.illegal("symbols")
        return names
