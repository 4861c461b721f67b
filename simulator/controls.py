"""Market controls off the Binance paths: `POST /sim/shock` and `POST /sim/reset`.

- `/sim/shock` {symbol, percent}: the price path moves by `percent` at once (a crash or a spike):
  a trade prints at the new price now and the path goes on from that level. Stop orders trigger
  from it like from any other trade.
- `/sim/reset`: what the testnet's monthly reset does: every account gets its initial balances
  back and every order (open or done) and fill is gone. API keys stay; order ids keep growing.

Parameters come as JSON (`{"symbol": "BTCUSDT", "percent": -10}`) or as a query/form string.
Errors are Binance-style JSON bodies `{"code": ..., "msg": ...}` with HTTP 400.
The same controls run on a schedule from the command line (`--shock`, `--reset-at`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl

from aiohttp import web

from simulator import errors
from simulator.money import fmt8, parse_decimal
from simulator.state import MarketState

log = logging.getLogger(__name__)
MAX_SHOCK_PERCENT = Decimal(1000)


@dataclass(frozen=True)
class Shock:
    """A scheduled shock: `percent` on `symbol`, `after_s` real seconds after the start."""

    symbol: str
    percent: Decimal
    after_s: float

    @classmethod
    def parse(cls, text: str) -> Shock:
        """`SYMBOL:PERCENT@SECONDS`, e.g. `BTCUSDT:-10@30`; raises ValueError."""
        head, sep, when = text.partition("@")
        symbol, sep2, pct = head.partition(":")
        percent = parse_decimal(pct) if sep2 else None
        if not sep or not sep2 or not symbol or percent is None:
            raise ValueError(f"--shock wants SYMBOL:PERCENT@SECONDS, got {text!r}")
        after = float(when)
        if after < 0 or not -100 < percent <= MAX_SHOCK_PERCENT:
            raise ValueError(f"--shock {text!r}: seconds >= 0 and -100 < percent <= 1000")
        return cls(symbol, percent, after)


class Controls:
    """The shock and reset actions and their HTTP handlers."""

    def __init__(self, state: MarketState, reset_accounts: Callable[[], None]) -> None:
        self._state = state
        self._reset_accounts = reset_accounts

    def shock(self, symbol: str, percent: Decimal) -> dict[str, object]:
        if not -100 < percent <= MAX_SHOCK_PERCENT:
            raise errors.ApiError(400, -1100, "percent must be > -100 and <= 1000.")
        if symbol not in self._state.tapes:
            raise errors.invalid_symbol()
        trade = self._state.shock(symbol, percent)
        self._state.stats["shocks"] += 1
        log.info("shock: %s %s%% -> %s", symbol, percent, trade.price)
        return {
            "symbol": symbol,
            "percent": str(percent),
            "price": fmt8(trade.price),
            "tradeId": trade.id,
            "time": trade.time,
        }

    def reset(self) -> dict[str, object]:
        self._reset_accounts()
        self._state.stats["resets"] += 1
        log.info("reset: balances back to their initial values, every order gone")
        return {"reset": True, "time": self._state.clock.now_ms()}

    async def handle_shock(self, request: web.Request) -> web.Response:
        try:
            values = await _values(request)
            symbol = values.get("symbol")
            if not isinstance(symbol, str) or not symbol:
                raise errors.missing("symbol")
            raw = values.get("percent")
            percent = parse_decimal(str(raw)) if raw is not None else None
            if percent is None:
                raise errors.missing("percent")
            return web.json_response(self.shock(symbol, percent))
        except errors.ApiError as err:
            return web.json_response(err.body(), status=err.status)

    async def handle_reset(self, request: web.Request) -> web.Response:
        return web.json_response(self.reset())

    async def run_schedule(self, shocks: list[Shock], reset_at: list[float]) -> None:
        """Apply the command line's shocks and resets at their times (real seconds)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        plan: list[tuple[float, Shock | None]] = [(s.after_s, s) for s in shocks]
        plan += [(after, None) for after in reset_at]
        for after, shock in sorted(plan, key=lambda p: p[0]):
            await asyncio.sleep(max(0.0, start + after - loop.time()))
            if shock is None:
                self.reset()
                continue
            try:
                self.shock(shock.symbol, shock.percent)
            except errors.ApiError as err:
                log.warning("scheduled shock %s failed: %s", shock, err.msg)


async def _values(request: web.Request) -> dict[str, object]:
    """Parameters from a JSON body, else from the query string and a form body."""
    text = await request.text() if request.can_read_body else ""
    values: dict[str, object] = dict(parse_qsl(text)) if text and text[0] != "{" else {}
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            raise errors.ApiError(400, -1100, "Body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise errors.ApiError(400, -1100, "Body must be a JSON object.")
        values = body
    return {**values, **dict(parse_qsl(request.rel_url.raw_query_string))}
