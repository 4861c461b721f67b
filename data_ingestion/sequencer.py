"""Per-symbol trade-id sequencing, as a pure decision object (sans I/O).

Trade ids are consecutive per symbol, so a gap is exact. `Sequencer` takes what happened (a
stream tick, a reconnect, a REST answer or failure, the end of a reorder window) and answers
with actions for its driver (`data_ingestion.feed`) to carry out:

- `Deliver(tick)`: hand the tick on, in id order;
- `Hold()` / `Release()`: hold the symbol in the gate while a gap is open, so the clock
  closes none of its minutes (exactly one hold per open gap);
- `MarkGap(start_ms, end_ms, filled)`: the minutes of that span had missing trades, now
  fetched (`filled`) or given up on (their candles close incomplete);
- `StartWindow(token, seconds)`: call `window_closed(token)` after `seconds`, unless it is
  moot by then (the reorder window: frames that merely came out of order arrive within it);
- `FetchTrades(first, upto)`, `FetchLatest()`, `FetchFirstSince(since_ms)`: ask REST, then
  call `trades_fetched` / `latest_fetched` / `first_id_fetched` with the answer, or
  `fetch_failed` with why. An answer to a request that is no longer awaited is ignored.

While a gap is open the ticks after it wait in a buffer; after the fill (or after giving up
on it) they are delivered in id order. Nothing here awaits, sleeps or reads a clock, so every
edge case is a table test (tests/data_ingestion/test_sequencer.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from core.clock import MINUTE_MS
from data_ingestion.models import Tick

log = logging.getLogger(__name__)


class MarketGate(Protocol):
    """What the feed needs from the candle side (aggregation.timer.CloseTimer satisfies it)."""

    def hold(self, symbol: str) -> None: ...

    def release(self, symbol: str) -> None: ...

    def mark_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None: ...

    def resume_ms(self, symbol: str) -> int | None: ...


# -- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deliver:
    tick: Tick


@dataclass(frozen=True, slots=True)
class Hold:
    pass


@dataclass(frozen=True, slots=True)
class Release:
    pass


@dataclass(frozen=True, slots=True)
class MarkGap:
    start_ms: int
    end_ms: int
    filled: bool


@dataclass(frozen=True, slots=True)
class StartWindow:
    token: int
    seconds: float


@dataclass(frozen=True, slots=True, eq=False)
class FetchTrades:
    """Trades `first`..`upto` (None: up to the latest); `since_ms` helps the aggTrades road."""

    first: int
    upto: int | None
    since_ms: int | None


@dataclass(frozen=True, slots=True, eq=False)
class FetchLatest:
    """The latest trade's (id, time), None when the symbol never traded."""


@dataclass(frozen=True, slots=True, eq=False)
class FetchFirstSince:
    """The id of the first trade at or after `since_ms`, None when there is none yet."""

    since_ms: int


Fetch = FetchTrades | FetchLatest | FetchFirstSince
Action = Deliver | Hold | Release | MarkGap | StartWindow | Fetch
NOTHING: tuple[Action, ...] = ()


class _Step(Enum):
    """What the open gap waits for."""

    IDLE = "idle"
    WINDOW = "window"  # late frames, until window_closed
    GAP = "gap"  # FetchTrades of the ids between the last delivered and the buffer
    CATCH_UP = "catch-up"  # FetchTrades after the last id, up to the latest (a reconnect)
    FIRST_ID = "first-id"  # FetchFirstSince for the first trade of the symbol
    FIRST = "first"  # FetchTrades from there up to the first stream trade
    ESTABLISH_LATEST = "establish-latest"  # FetchLatest: has anything traded since resume?
    ESTABLISH_FIRST = "establish-first"  # FetchFirstSince(resume)
    ESTABLISH = "establish"  # FetchTrades from resume up to the latest


@dataclass(slots=True)
class SeqStats:
    duplicates: int = 0
    gaps: int = 0
    reordered: int = 0  # gaps closed by late frames inside the reorder window
    backfilled_trades: int = 0
    unfilled_gaps: int = 0


class Sequencer:
    """One symbol's id order. `busy` is True while a gap is open (the gate is held);
    `backfilling` while REST is asked for trades. `resume_ms()` says from when the candles
    still need trades (the warm-up's end), None when any start will do."""

    def __init__(
        self,
        symbol: str,
        resume_ms: Callable[[], int | None] = lambda: None,
        reorder_window_s: float = 0.2,
        max_backfill_trades: int = 100_000,
    ) -> None:
        self.symbol = symbol
        self._resume_ms = resume_ms
        self._window_s = reorder_window_s
        self._max_trades = max_backfill_trades
        self.last_id: int | None = None
        self.last_time_ms = 0
        self.buffer: dict[int, Tick] = {}
        self.busy = False
        self.backfilling = False
        self.stats = SeqStats()
        self._step = _Step.IDLE
        self._request: Fetch | None = None  # the REST answer awaited
        self._token = 0  # of the current reorder window
        self._holding = False
        self._since = 0  # FIRST_ID/FIRST/ESTABLISH*: from when trades are fetched
        self._first: Tick | None = None  # FIRST_ID/FIRST: the first stream trade seen
        self._gap_end_ms = 0  # GAP: the time of the first buffered trade after the gap

    # -- inputs ---------------------------------------------------------------------------------

    def offer(self, tick: Tick) -> Sequence[Action]:
        """A trade from the stream."""
        last = self.last_id
        tid = tick.trade_id
        if last is not None and tid <= last:
            self.stats.duplicates += 1
            return NOTHING
        if self.busy:
            if tid in self.buffer:
                self.stats.duplicates += 1
                return NOTHING
            self.buffer[tid] = tick
            if self._step is _Step.WINDOW:
                out: list[Action] = []
                self._drain(out)
                if not self.buffer:
                    self.stats.reordered += 1
                    self._finish(out)
                return out
            return NOTHING
        if last is not None and tid == last + 1:
            self.last_id = tid
            self.last_time_ms = tick.trade_time_ms
            return (Deliver(tick),)
        self.buffer[tid] = tick
        out = []
        self._open(out)
        if last is None:
            self._ask_first_id(tick, out)
        else:
            self._next_gap(out)
        return out

    def catch_up(self) -> Sequence[Action]:
        """After a (re)connect: fetch everything after the last id before letting go.

        A symbol without a last id yet, whose candles resume at a known minute (warm-up),
        finds its place from REST now rather than at its first trade, so that a quiet
        symbol's minutes are not closed flat while trades of them were missed.
        """
        if self.busy:
            return NOTHING
        out: list[Action] = []
        if self.last_id is not None:
            self._open(out)
            self._fetch_trades(self.last_id + 1, None, _Step.CATCH_UP, out)
            return out
        resume = self._resume_ms()
        if resume is None:
            return NOTHING
        self._open(out)
        self._since = resume
        self._ask(FetchLatest(), _Step.ESTABLISH_LATEST, out)
        return out

    def window_closed(self, token: int) -> Sequence[Action]:
        """The reorder window of `token` ended: what is still missing comes from REST."""
        if self._step is not _Step.WINDOW or token != self._token:
            return NOTHING
        out: list[Action] = []
        self._drain(out)
        if not self.buffer:
            self.stats.reordered += 1
            self._finish(out)
            return out
        assert self.last_id is not None
        first, upto = self.last_id + 1, min(self.buffer) - 1
        self._gap_end_ms = self.buffer[upto + 1].trade_time_ms
        log.info("%s: trade ids %d..%d missing, backfilling", self.symbol, first, upto)
        self._fetch_trades(first, upto, _Step.GAP, out)
        return out

    def trades_fetched(self, request: Fetch, ticks: Sequence[Tick]) -> Sequence[Action]:
        """REST's answer to `FetchTrades`: checked (it must start at `first` and, for a closed
        range, end at `upto`), then delivered."""
        if request is not self._request or not isinstance(request, FetchTrades):
            return NOTHING
        if ticks and ticks[0].trade_id - ticks[0].count + 1 != request.first:  # aggregate f..l
            return self.fetch_failed(
                request, f"REST returned from id {ticks[0].trade_id}, wanted {request.first}"
            )
        if request.upto is not None and (not ticks or ticks[-1].trade_id != request.upto):
            got = ticks[-1].trade_id if ticks else None
            return self.fetch_failed(request, f"REST returned up to {got}, wanted {request.upto}")
        self._request = None
        out: list[Action] = []
        if ticks:
            out.append(MarkGap(ticks[0].trade_time_ms, ticks[-1].trade_time_ms, True))
        for tick in ticks:
            if self.last_id is None or tick.trade_id > self.last_id:
                self._apply(tick, out)
        self.stats.backfilled_trades += len(ticks)
        self._next_gap(out)
        return out

    def latest_fetched(self, request: Fetch, latest: tuple[int, int] | None) -> Sequence[Action]:
        """REST's answer to `FetchLatest`: the latest trade's (id, time), or None."""
        if request is not self._request:
            return NOTHING
        self._request = None
        out: list[Action] = []
        if latest is not None and latest[1] < self._since:
            self.last_id, self.last_time_ms = latest  # nothing traded since the resume point
            self._next_gap(out)
        elif latest is not None:
            self._ask(FetchFirstSince(self._since), _Step.ESTABLISH_FIRST, out)
        else:
            self._establish_failed(out)
        return out

    def first_id_fetched(self, request: Fetch, first: int | None) -> Sequence[Action]:
        """REST's answer to `FetchFirstSince`: the first id at or after `since_ms`, or None."""
        if request is not self._request:
            return NOTHING
        self._request = None
        out: list[Action] = []
        if self._step is _Step.ESTABLISH_FIRST:
            if first is None:
                self._establish_failed(out)
            else:
                self.last_id, self.last_time_ms = first - 1, self._since
                self._fetch_trades(first, None, _Step.ESTABLISH, out)
            return out
        tick = self._first
        assert tick is not None
        if first is not None and first < tick.trade_id:
            self.last_id, self.last_time_ms = first - 1, self._since
            self._fetch_trades(first, tick.trade_id - 1, _Step.FIRST, out)
        else:
            self.last_id = tick.trade_id - 1  # nothing traded before it since the resume point
            self._next_gap(out)
        return out

    def fetch_failed(self, request: Fetch, why: str) -> Sequence[Action]:
        """REST could not answer `request` (after the fetcher's own retries)."""
        if request is not self._request:
            return NOTHING
        self._request = None
        out: list[Action] = []
        step = self._step
        if step is _Step.GAP:
            assert isinstance(request, FetchTrades) and request.upto is not None
            log.warning("%s: backfill %d..%s failed: %s", self.symbol, request.first,
                        request.upto, why)  # fmt: skip
            self.stats.unfilled_gaps += 1
            out.append(MarkGap(self.last_time_ms, self._gap_end_ms, False))
            self.last_id = request.upto  # given up on; those minutes close incomplete
        elif step is _Step.CATCH_UP:
            log.warning("%s: catch-up backfill failed: %s", self.symbol, why)
        elif step in (_Step.FIRST_ID, _Step.FIRST):
            tick = self._first
            assert tick is not None
            log.warning("%s: start backfill since %d failed: %s", self.symbol, self._since, why)
            self.stats.unfilled_gaps += 1
            out.append(MarkGap(self._since, tick.trade_time_ms, False))
            self.last_id = min(self.buffer) - 1
        else:  # establishing: the first stream trade will try again
            log.warning("%s: start backfill since %d failed: %s", self.symbol, self._since, why)
            self._establish_failed(out)
            return out
        self._next_gap(out)
        return out

    def cancel(self) -> Sequence[Action]:
        """Stop: whatever is awaited is moot, the gate is let go (the symbol is removed)."""
        self._request = None
        self._step = _Step.IDLE
        self.busy = self.backfilling = False
        out: list[Action] = []
        self._let_go(out)
        return out

    # -- steps ----------------------------------------------------------------------------------

    def _open(self, out: list[Action]) -> None:
        self.busy = True
        if not self._holding:
            self._holding = True
            out.append(Hold())

    def _finish(self, out: list[Action]) -> None:
        self.busy = self.backfilling = False
        self._step = _Step.IDLE
        self._let_go(out)

    def _let_go(self, out: list[Action]) -> None:
        if self._holding:
            self._holding = False
            out.append(Release())

    def _ask(self, request: Fetch, step: _Step, out: list[Action]) -> None:
        self.backfilling = True
        self._request = request
        self._step = step
        out.append(request)

    def _ask_first_id(self, tick: Tick, out: list[Action]) -> None:
        """First trade of the symbol: what came before it since the resume point comes first."""
        resume = self._resume_ms()
        self._since = resume if resume is not None else tick.trade_time_ms // MINUTE_MS * MINUTE_MS
        self._first = tick
        self._ask(FetchFirstSince(self._since), _Step.FIRST_ID, out)

    def _fetch_trades(self, first: int, upto: int | None, step: _Step, out: list[Action]) -> None:
        since = self.last_time_ms if self.last_id == first - 1 and self.last_time_ms else None
        request = FetchTrades(first, upto, since)
        self._ask(request, step, out)
        if upto is not None and upto - first + 1 > self._max_trades:
            out.pop()  # not worth asking: fails at once
            out.extend(
                self.fetch_failed(request, f"{upto - first + 1} trades missing, over the cap")
            )

    def _establish_failed(self, out: list[Action]) -> None:
        self.last_id = None
        if self.buffer:  # the first stream trade arrived meanwhile
            self._ask_first_id(self.buffer[min(self.buffer)], out)
        else:
            self._finish(out)

    def _next_gap(self, out: list[Action]) -> None:
        """Deliver what follows now; a gap left in the buffer opens a reorder window."""
        self._drain(out)
        if not self.buffer:
            self._finish(out)
            return
        self.stats.gaps += 1
        self.backfilling = False
        self._step = _Step.WINDOW
        self._token += 1
        out.append(StartWindow(self._token, self._window_s))

    def _apply(self, tick: Tick, out: list[Action]) -> None:
        self.last_id = tick.trade_id
        self.last_time_ms = tick.trade_time_ms
        out.append(Deliver(tick))

    def _drain(self, out: list[Action]) -> None:
        """Deliver buffered ticks that now follow the last id (and drop stale ones)."""
        buffer = self.buffer
        while buffer:
            nxt = None if self.last_id is None else self.last_id + 1
            if nxt is not None and nxt in buffer:
                self._apply(buffer.pop(nxt), out)
                continue
            low = min(buffer)
            if self.last_id is not None and low <= self.last_id:
                del buffer[low]
                self.stats.duplicates += 1
                continue
            break
