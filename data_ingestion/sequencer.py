"""Per-symbol trade-id sequencing: drop duplicates, hold back ticks after a gap, fill it.

Trade ids are consecutive per symbol, so a gap is exact: the ticks after it wait in a buffer
while the missing ids are awaited (a short reorder window, for frames that merely came out of
order) and then fetched from REST. The aggregator is held meanwhile, so no minute the gap
touches is closed by the clock; buffered ticks are applied after the fill, in id order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from core.clock import MINUTE_MS
from data_ingestion.backfill import BackfillError, TradeFetcher
from data_ingestion.models import Tick

log = logging.getLogger(__name__)


class MarketGate(Protocol):
    """What the feed needs from the aggregator (CandleAggregator satisfies it)."""

    def hold(self, symbol: str) -> None: ...

    def release(self, symbol: str) -> None: ...

    def mark_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None: ...

    def resume_ms(self, symbol: str) -> int | None: ...


@dataclass(slots=True)
class SeqStats:
    duplicates: int = 0
    gaps: int = 0
    reordered: int = 0  # gaps closed by late frames inside the reorder window
    backfilled_trades: int = 0
    unfilled_gaps: int = 0


class Sequencer:
    """One symbol's id order. `offer` is called for every stream tick, `catch_up` after a
    reconnect; `busy` is True while a gap is being resolved (the gate is held)."""

    def __init__(
        self,
        symbol: str,
        deliver: Callable[[Tick], None],
        fetcher: TradeFetcher,
        gate: MarketGate | None,
        spawn: Callable[..., asyncio.Task[None]],
        reorder_window_s: float = 0.2,
        max_backfill_trades: int = 100_000,
    ) -> None:
        self.symbol = symbol
        self._deliver = deliver
        self._fetcher = fetcher
        self._gate = gate
        self._spawn = spawn
        self._window_s = reorder_window_s
        self._max_trades = max_backfill_trades
        self.last_id: int | None = None
        self.last_time_ms = 0
        self.buffer: dict[int, Tick] = {}
        self.busy = False
        self.backfilling = False
        self.stats = SeqStats()
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._holding = False  # this sequencer holds the gate (exactly once)

    # -- called for every stream tick ------------------------------------------------------

    def offer(self, tick: Tick) -> None:
        last = self.last_id
        tid = tick.trade_id
        if last is not None and tid <= last:
            self.stats.duplicates += 1
            return
        if self.busy:
            if tid in self.buffer:
                self.stats.duplicates += 1
            else:
                self.buffer[tid] = tick
                self._arrived.set()
            return
        if last is not None and tid == last + 1:
            self._apply(tick)
            return
        self.buffer[tid] = tick
        self._start(self._first_tick(tick) if last is None else self._fill_gap())

    def catch_up(self) -> None:
        """After a (re)connect: fetch everything after the last id before releasing the gate.

        A symbol without a last id yet, whose candles resume at a known minute (warm-up),
        finds its place from REST now rather than at its first trade, so that a quiet
        symbol's minutes are not closed flat while trades of them were missed.
        """
        if self.busy:
            return
        if self.last_id is not None:
            self._start(self._fill_gap(open_ended=True))
            return
        resume = self._gate.resume_ms(self.symbol) if self._gate is not None else None
        if resume is not None:
            self._start(self._establish(resume))

    def cancel(self) -> None:
        """Stop any backfill and let go of the gate now (the symbol is being removed)."""
        if self._task is not None:
            self._task.cancel()
        self._release()

    # -- internals ------------------------------------------------------------------------

    def _apply(self, tick: Tick) -> None:
        self.last_id = tick.trade_id
        self.last_time_ms = tick.trade_time_ms
        self._deliver(tick)

    def _drain(self) -> None:
        """Apply buffered ticks that now follow the last id (and drop stale ones)."""
        while self.buffer:
            nxt = None if self.last_id is None else self.last_id + 1
            if nxt is not None and nxt in self.buffer:
                self._apply(self.buffer.pop(nxt))
                continue
            low = min(self.buffer)
            if self.last_id is not None and low <= self.last_id:
                del self.buffer[low]
                self.stats.duplicates += 1
                continue
            break

    def _start(self, coro: object) -> None:
        self.busy = True
        if self._gate is not None and not self._holding:
            self._holding = True
            self._gate.hold(self.symbol)
        self._task = self._spawn(coro, f"seq:{self.symbol}")

    def _finish(self) -> None:
        self.busy = False
        self.backfilling = False
        self._task = None
        self._release()

    def _release(self) -> None:
        if self._holding and self._gate is not None:
            self._holding = False
            self._gate.release(self.symbol)

    async def _establish(self, since: int) -> None:
        """No trade seen yet: the trades since `since` come from REST, then the stream's."""
        try:
            self.backfilling = True
            try:
                latest = await self._fetcher.latest(self.symbol)
                if latest is not None and latest[1] < since:
                    self.last_id, self.last_time_ms = latest  # nothing traded since `since`
                elif latest is not None:
                    first = await self._fetcher.first_id_since(self.symbol, since)
                    if first is not None:
                        self.last_id, self.last_time_ms = first - 1, since
                        await self._backfill(first, None)
            except BackfillError as exc:  # the first stream trade will try again
                log.warning("%s: start backfill since %d failed: %s", self.symbol, since, exc)
                self.last_id = None
            if self.last_id is None:
                if self.buffer:  # the first stream trade arrived meanwhile
                    await self._first_tick(self.buffer[min(self.buffer)], finish=False)
                return
            self._drain()
            if self.buffer:
                await self._fill_gap_inner(open_ended=False)
        finally:
            self._finish()

    async def _first_tick(self, tick: Tick, finish: bool = True) -> None:
        """First trade of a symbol: fetch what came before it since the gate's resume point."""
        try:
            resume = self._gate.resume_ms(self.symbol) if self._gate is not None else None
            since = resume if resume is not None else tick.trade_time_ms // MINUTE_MS * MINUTE_MS
            self.backfilling = True
            try:
                first = await self._fetcher.first_id_since(self.symbol, since)
                if first is not None and first < tick.trade_id:
                    self.last_id = first - 1
                    self.last_time_ms = since
                    await self._backfill(first, tick.trade_id - 1)
                else:
                    self.last_id = tick.trade_id - 1
            except BackfillError as exc:
                log.warning("%s: start backfill since %d failed: %s", self.symbol, since, exc)
                self.stats.unfilled_gaps += 1
                if self._gate is not None:
                    self._gate.mark_gap(self.symbol, since, tick.trade_time_ms, False)
                self.last_id = min(self.buffer) - 1
            self._drain()
            if self.buffer:
                await self._fill_gap_inner(open_ended=False)
        finally:
            if finish:
                self._finish()

    async def _fill_gap(self, open_ended: bool = False) -> None:
        try:
            await self._fill_gap_inner(open_ended)
        finally:
            self._finish()

    async def _fill_gap_inner(self, open_ended: bool) -> None:
        if open_ended:
            self.backfilling = True
            try:
                assert self.last_id is not None
                await self._backfill(self.last_id + 1, None)
            except BackfillError as exc:
                log.warning("%s: catch-up backfill failed: %s", self.symbol, exc)
            self._drain()
        while self.buffer:
            self._drain()
            if not self.buffer:
                return
            self.stats.gaps += 1
            # Reorder window: frames that are merely late arrive within it.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._window_s
            while self.buffer and (left := deadline - loop.time()) > 0:
                self._arrived.clear()
                self._drain()
                if not self.buffer:
                    self.stats.reordered += 1
                    return
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    break
            self._drain()
            if not self.buffer:
                self.stats.reordered += 1
                return
            assert self.last_id is not None
            first, upto = self.last_id + 1, min(self.buffer) - 1
            self.backfilling = True
            log.info("%s: trade ids %d..%d missing, backfilling", self.symbol, first, upto)
            try:
                await self._backfill(first, upto)
            except BackfillError as exc:
                log.warning("%s: backfill %d..%d failed: %s", self.symbol, first, upto, exc)
                self.stats.unfilled_gaps += 1
                if self._gate is not None:
                    end = self.buffer[upto + 1].trade_time_ms
                    self._gate.mark_gap(self.symbol, self.last_time_ms, end, False)
                self.last_id = upto  # give up on these ids; the minutes are marked incomplete
            self.backfilling = False

    async def _backfill(self, first: int, upto: int | None) -> None:
        """Fetch and apply ids first..upto (None: to the latest); BackfillError if short."""
        if upto is not None and upto - first + 1 > self._max_trades:
            raise BackfillError(f"{upto - first + 1} trades missing, more than the cap")
        since = self.last_time_ms if self.last_id == first - 1 and self.last_time_ms else None
        ticks = await self._fetcher.trades(self.symbol, first, upto, since_ms=since)
        if ticks and ticks[0].trade_id - ticks[0].count + 1 != first:  # an aggregate: f..l
            raise BackfillError(f"REST returned from id {ticks[0].trade_id}, wanted {first}")
        if upto is not None and (not ticks or ticks[-1].trade_id != upto):
            raise BackfillError(f"REST returned up to {ticks[-1].trade_id if ticks else None}")
        if ticks and self._gate is not None:
            self._gate.mark_gap(self.symbol, ticks[0].trade_time_ms, ticks[-1].trade_time_ms, True)
        for tick in ticks:
            if self.last_id is None or tick.trade_id > self.last_id:
                self._apply(tick)
        self.stats.backfilled_trades += len(ticks)
