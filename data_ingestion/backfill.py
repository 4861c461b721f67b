"""REST backfill of missing trades by trade id, within Binance's request-weight limit.

`historicalTrades` (by trade id) first; when it fails, `aggTrades` from the last known trade's
time: each aggregate becomes one Tick standing for trades f..l (`count` = l - f + 1, id = l),
which the aggregator sums exactly like the single trades (same price, same taker side).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import RetryableError
from data_ingestion.models import Tick
from data_ingestion.schemas import normalise_ms

log = logging.getLogger(__name__)

PAGE = 1000  # historicalTrades / aggTrades maximum limit
WEIGHT = {"historicalTrades": 25, "aggTrades": 2}  # Binance's request weights (2024)
MAX_RETRY_AFTER_S = 120.0  # a longer Retry-After (an IP ban, HTTP 418) fails the backfill


class BackfillError(RetryableError):
    """The missing trades could not be fetched (after retries)."""


class TradeFetcher:
    """Fetches trades by id through python-binance's AsyncClient.

    Weight: Binance reports the minute's used weight in `X-MBX-USED-WEIGHT-1M`; python-binance
    keeps the last response in `client.response`. Above `weight_limit * headroom` we pause
    until the next minute window (loop time), so backfills never push the IP into a ban.
    """

    def __init__(
        self,
        client: Any,
        weight_limit: int = 6000,
        headroom: float = 0.7,
        retries: int = 3,
        retry_delay_s: float = 0.3,
    ) -> None:
        self._client = client
        self._budget = int(weight_limit * headroom)
        self._retries = retries
        self._retry_delay_s = retry_delay_s
        self._window_start = 0.0
        self._window_used = 0
        self.requests = 0

    async def _spend(self, endpoint: str) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now - self._window_start >= 60:
            self._window_start, self._window_used = now, 0
        used = max(self._window_used, self._reported_weight())
        if used + WEIGHT[endpoint] > self._budget:
            wait = 60 - (now - self._window_start)
            log.warning("backfill: request weight %d near the limit, pausing %.1fs", used, wait)
            await asyncio.sleep(wait)
            self._window_start, self._window_used = loop.time(), 0
        self._window_used += WEIGHT[endpoint]

    def _reported_weight(self) -> int:
        response = getattr(self._client, "response", None)
        headers = getattr(response, "headers", None)
        if not headers:
            return 0
        try:
            return int(headers.get("x-mbx-used-weight-1m", 0))
        except (TypeError, ValueError):
            return 0

    async def _call(self, endpoint: str, **params: Any) -> list[dict[str, Any]]:
        last: Exception | None = None
        attempt = 0
        for attempt in range(self._retries):
            await self._spend(endpoint)
            self.requests += 1
            try:
                if endpoint == "historicalTrades":
                    rows = await self._client.get_historical_trades(**params)
                else:
                    rows = await self._client.get_aggregate_trades(**params)
                if not isinstance(rows, list):
                    raise BackfillError(f"{endpoint} returned {type(rows).__name__}, not a list")
                return rows
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                last = exc
                log.warning(
                    "backfill %s %s failed (try %d): %s", endpoint, params, attempt + 1, exc
                )
                retry_after = _retry_after_s(exc)
                if attempt + 1 == self._retries or (retry_after or 0) > MAX_RETRY_AFTER_S:
                    break
                if retry_after is None:
                    await asyncio.sleep(self._retry_delay_s * 2**attempt)
                    continue
                # 429/418: this minute's weight is spent; send nothing before Retry-After.
                await asyncio.sleep(retry_after)
                self._window_start, self._window_used = asyncio.get_running_loop().time(), 0
        raise BackfillError(f"{endpoint} failed after {attempt + 1} tries: {last}")

    async def trades(
        self, symbol: str, from_id: int, to_id: int | None, since_ms: int | None = None
    ) -> list[Tick]:
        """Trades `from_id`..`to_id` (inclusive; None: up to the latest), in id order.

        `historicalTrades` by id; if that fails and `since_ms` (the time of trade
        `from_id - 1`, or earlier) is known, `aggTrades` from that time instead.
        """
        try:
            return await self._historical(symbol, from_id, to_id)
        except BackfillError as exc:
            if since_ms is None:
                raise
            log.warning("%s: historicalTrades failed (%s); trying aggTrades", symbol, exc)
        return await self._aggregated(symbol, from_id, to_id, since_ms)

    async def _historical(self, symbol: str, from_id: int, to_id: int | None) -> list[Tick]:
        out: list[Tick] = []
        next_id = from_id
        while to_id is None or next_id <= to_id:
            rows = await self._call("historicalTrades", symbol=symbol, fromId=next_id, limit=PAGE)
            progress = False
            for row in rows:
                tick = rest_trade_to_tick(symbol, row)
                if tick.trade_id < next_id:
                    continue
                if to_id is not None and tick.trade_id > to_id:
                    break
                out.append(tick)
                next_id = tick.trade_id + 1
                progress = True
            if len(rows) < PAGE or not progress:
                break
        return out

    async def _aggregated(
        self, symbol: str, from_id: int, to_id: int | None, since_ms: int
    ) -> list[Tick]:
        """Aggregates covering trade ids from_id..to_id, paged by aggregate id."""
        out: list[Tick] = []
        next_id = from_id  # the next trade id wanted
        params: dict[str, Any] = {"startTime": since_ms}
        while to_id is None or next_id <= to_id:
            rows = await self._call("aggTrades", symbol=symbol, limit=PAGE, **params)
            for row in rows:
                tick = agg_trade_to_tick(symbol, row)
                first = tick.trade_id - tick.count + 1
                if tick.trade_id < next_id:
                    continue
                if first != next_id:  # a hole, or an aggregate we already have part of
                    raise BackfillError(f"aggTrades cover ids from {first}, wanted {next_id}")
                if to_id is not None and tick.trade_id > to_id:
                    raise BackfillError(f"aggregate {first}..{tick.trade_id} passes {to_id}")
                out.append(tick)
                next_id = tick.trade_id + 1
                if to_id is not None and next_id > to_id:
                    break
            if len(rows) < PAGE:
                break
            params = {"fromId": int(rows[-1]["a"]) + 1}
        return out

    async def latest(self, symbol: str) -> tuple[int, int] | None:
        """(id, time ms) of the symbol's latest trade, from the latest aggregate; None: none."""
        rows = await self._call("aggTrades", symbol=symbol, limit=1)
        if not rows:
            return None
        tick = agg_trade_to_tick(symbol, rows[-1])
        return tick.trade_id, tick.trade_time_ms

    async def first_id_since(self, symbol: str, since_ms: int) -> int | None:
        """The id of the first trade at or after `since_ms` (aggTrades' `f`), None if none."""
        rows = await self._call("aggTrades", symbol=symbol, startTime=since_ms, limit=1)
        if not rows:
            return None
        try:
            return int(rows[0]["f"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BackfillError(f"aggTrades row without a first trade id: {exc}") from None


def rest_trade_to_tick(symbol: str, row: dict[str, Any]) -> Tick:
    """A `/api/v3/historicalTrades` row -> Tick; BackfillError when malformed."""
    try:
        return Tick(
            symbol,
            int(row["id"]),
            Decimal(row["price"]),
            Decimal(row["qty"]),
            normalise_ms(int(row["time"])),
            bool(row["isBuyerMaker"]),
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BackfillError(f"malformed historicalTrades row: {exc!r}") from None


def agg_trade_to_tick(symbol: str, row: dict[str, Any]) -> Tick:
    """An `/api/v3/aggTrades` row -> Tick for trades f..l (id = l); BackfillError if malformed."""
    try:
        first, last = int(row["f"]), int(row["l"])
        if last < first:
            raise ValueError(f"l {last} < f {first}")
        return Tick(
            symbol,
            last,
            Decimal(row["p"]),
            Decimal(row["q"]),
            normalise_ms(int(row["T"])),
            bool(row["m"]),
            count=last - first + 1,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise BackfillError(f"malformed aggTrades row: {exc!r}") from None


def _retry_after_s(exc: Exception) -> float | None:
    """Retry-After of an HTTP 429/418 from python-binance's BinanceAPIException, else None."""
    if getattr(exc, "status_code", None) not in (418, 429):
        return None
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return float(headers.get("Retry-After", 60))
    except (TypeError, ValueError):
        return 60.0
