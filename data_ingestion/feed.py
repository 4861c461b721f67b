"""The trade feed: every symbol's `<sym>@trade` stream into `on_tick`, in trade-id order, no gaps.

The socket is `data_ingestion.stream_supervisor.StreamSupervisor`'s (reconnects, watchdog,
silence checks, handoffs, and the holds they need); it hands each frame to `on_message`.
Here each frame becomes a `Tick` and goes to its symbol's `Sequencer`, which decides (dedupe,
reorder window, gaps, holds); this module carries its actions out (`_run`: deliver, hold,
release, mark a gap, start a window, fetch from REST). The supervisor asks the sequencing
side what it needs: a catch-up from REST after each (re)connect (`catch_up`), and, for a
silent stream, which symbols REST knows newer trades of (`missed_trades`, `behind`).
`last_message_ms` is the injected clock's; the age that makes a symbol stale is loop time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from core.tasks import TaskOwner
from data_ingestion.backfill import BackfillError, TradeFetcher
from data_ingestion.backoff import Backoff
from data_ingestion.models import Tick
from data_ingestion.schemas import FrameError, NotATrade, decode_frame, trade_to_tick
from data_ingestion.sequencer import (
    Action,
    Deliver,
    Fetch,
    FetchLatest,
    FetchTrades,
    Hold,
    MarketGate,
    MarkGap,
    Release,
    Sequencer,
    StartWindow,
)
from data_ingestion.stream_supervisor import StreamSupervisor

log = logging.getLogger(__name__)

LIVE, RECONNECTING, BACKFILLING, STALE = "live", "reconnecting", "backfilling", "stale"
STARTING = "starting"  # streamed, no trade yet, for less than the watchdog's silence


@dataclass(frozen=True, slots=True)
class FeedState:
    """One symbol's feed, for /status and the dashboard."""

    symbol: str
    status: str  # live | reconnecting | backfilling | stale
    reconnects: int
    last_message_ms: int | None  # injected clock, when its last trade frame arrived
    last_message_age_ms: int | None
    last_error: str | None
    duplicates: int
    gaps: int
    backfilled_trades: int
    unfilled_gaps: int


class TradeFeed:
    """Streams `<sym>@trade` for every symbol into `on_tick`, in trade-id order, no gaps.

    `stream` is its socket's supervisor (reconnect and silence counters, socket settings)."""

    def __init__(
        self,
        client: Any,
        symbols: Iterable[str],
        on_tick: Callable[[Tick], None],
        clock: Clock,
        gate: MarketGate | None = None,
        stream_url: str | None = None,
        watchdog_s: float = 30.0,
        planned_reconnect_s: float = 23 * 3600,
        healthy_s: float = 60.0,
        reorder_window_s: float = 0.2,
        max_queue_size: int = 10_000,
        connect_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        fetcher: TradeFetcher | None = None,
        silence_hold_s: float = 1.0,
    ) -> None:
        self._on_tick = on_tick
        self._clock = clock
        self._gate = gate
        self._reorder_window_s = reorder_window_s
        self._fetcher = fetcher or TradeFetcher(client)
        self._tasks = TaskOwner("feed")
        self._seqs: dict[str, Sequencer] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}  # a symbol's REST request
        self._windows: dict[str, asyncio.TimerHandle] = {}  # a symbol's reorder window
        self._last_msg: dict[str, tuple[int, float]] = {}  # clock ms, loop time
        self._added: dict[str, float] = {}  # loop time each symbol was first asked for
        self.malformed = 0
        self.ignored = 0
        self.callback_errors = 0
        for symbol in symbols:
            self._add_seq(symbol.upper())
        self.stream = StreamSupervisor(
            client, self, gate, stream_url, watchdog_s, planned_reconnect_s, healthy_s,
            max_queue_size, connect_timeout_s, backoff, silence_hold_s,
        )  # fmt: skip

    # -- public ---------------------------------------------------------------------------

    @property
    def reconnects(self) -> int:
        return self.stream.reconnects

    @property
    def last_error(self) -> str | None:
        return self.stream.last_error

    async def start(self) -> None:
        """Hold every symbol now (so no minute closes before its trades can arrive) and run."""
        self.stream.start()

    async def stop(self) -> None:
        for seq in self._seqs.values():
            self._cancel(seq)
        await self.stream.stop()
        await self._tasks.cancel_all()

    async def add_symbol(self, symbol: str) -> None:
        """Stream `symbol` too; it is held until the new socket delivers and its start is known."""
        symbol = symbol.upper()
        if symbol not in self._seqs:
            self._add_seq(symbol)
            self.stream.symbol_added(symbol)

    async def remove_symbol(self, symbol: str) -> None:
        seq = self._seqs.pop(symbol.upper(), None)
        if seq is None:
            return
        self._cancel(seq)
        self._last_msg.pop(seq.symbol, None)
        self._added.pop(seq.symbol, None)
        self.stream.symbol_removed(seq.symbol)

    def symbols(self) -> list[str]:
        return list(self._seqs)

    def states(self) -> dict[str, FeedState]:
        now_ms = self._clock.now_ms()
        loop_now = asyncio.get_running_loop().time()
        stream = self.stream
        out: dict[str, FeedState] = {}
        for symbol, seq in self._seqs.items():
            last = self._last_msg.get(symbol)
            if not stream.connected:
                status = RECONNECTING
            elif seq.busy:
                status = BACKFILLING if seq.backfilling else LIVE
            elif last is None and loop_now - self._added.setdefault(symbol, loop_now) <= (
                stream.watchdog_s
            ):
                status = STARTING  # a symbol just added is not stale before it could trade
            elif last is None or loop_now - last[1] > stream.watchdog_s:
                status = STALE
            else:
                status = LIVE
            st = seq.stats
            out[symbol] = FeedState(
                symbol, status, stream.reconnects,
                None if last is None else last[0],
                None if last is None else max(0, now_ms - last[0]),
                stream.last_error, st.duplicates, st.gaps, st.backfilled_trades, st.unfilled_gaps,
            )  # fmt: skip
        return out

    # -- what the stream supervisor asks ---------------------------------------------------

    def count_malformed(self) -> None:
        """A frame that is not even a JSON object."""
        self.malformed += 1

    def catch_up(self, symbol: str) -> bool:
        """After a (re)connect: `symbol` catches up from REST (holding); False if not streamed."""
        seq = self._seqs.get(symbol)
        if seq is None:
            return False
        self._run(seq, seq.catch_up())
        return True

    async def missed_trades(self) -> dict[str, int]:
        """Each symbol's latest trade id, where REST knows a newer one than the stream delivered.

        Idle symbols with a last id only: a busy sequencer holds its symbol itself; no id: no
        minute yet. Raises `BackfillError` when REST cannot answer.
        """
        missed: dict[str, int] = {}
        for symbol, seq in list(self._seqs.items()):
            if seq.busy or seq.last_id is None:
                continue
            latest = await self._fetcher.latest(symbol)
            if latest is not None and seq.last_id is not None and latest[0] > seq.last_id:
                missed[symbol] = latest[0]
        return missed

    def behind(self, symbol: str, trade_id: int) -> bool:
        """Whether `symbol` is streamed and has not delivered `trade_id` yet."""
        seq = self._seqs.get(symbol)
        return seq is not None and (seq.last_id or 0) < trade_id

    # -- messages -------------------------------------------------------------------------

    def on_message(self, msg: dict[str, Any]) -> None:
        """One decoded frame from the socket (python-binance's dict); errors are not here."""
        kind = msg.get("e")
        if kind == "malformed":
            self.malformed += 1
            log.warning("feed: malformed frame skipped (%s): %s", msg.get("m"), msg.get("raw"))
            return
        try:
            tick = trade_to_tick(decode_frame(msg), self._clock.now_ms())
        except NotATrade:
            self.ignored += 1
            return
        except FrameError as exc:
            self.malformed += 1
            log.warning("feed: malformed frame skipped: %s", exc)
            return
        seq = self._seqs.get(tick.symbol)
        if seq is None:
            return  # a symbol just removed
        self._last_msg[tick.symbol] = (tick.received_ms, asyncio.get_running_loop().time())
        actions = seq.offer(tick)
        if len(actions) == 1 and type(actions[0]) is Deliver:  # the common case: in order
            self._deliver(actions[0].tick)
        elif actions:
            self._run(seq, actions)

    def _deliver(self, tick: Tick) -> None:
        try:
            self._on_tick(tick)
        except Exception:
            self.callback_errors += 1
            log.exception("feed: on_tick failed for %s #%d", tick.symbol, tick.trade_id)

    def _add_seq(self, symbol: str) -> None:
        gate = self._gate
        # Built before the loop runs: counted from the first look at the states instead.
        with contextlib.suppress(RuntimeError):
            self._added[symbol] = asyncio.get_running_loop().time()
        self._seqs[symbol] = Sequencer(
            symbol,
            (lambda: gate.resume_ms(symbol)) if gate is not None else (lambda: None),
            reorder_window_s=self._reorder_window_s,
        )

    # -- the sequencers' actions ----------------------------------------------------------------

    def _run(self, seq: Sequencer, actions: Iterable[Action]) -> None:
        """Carry out what `seq` decided, in order."""
        gate = self._gate
        symbol = seq.symbol
        for action in actions:
            if isinstance(action, Deliver):
                self._deliver(action.tick)
            elif isinstance(action, Hold):
                if gate is not None:
                    gate.hold(symbol)
            elif isinstance(action, Release):
                if gate is not None:
                    gate.release(symbol)
            elif isinstance(action, MarkGap):
                if gate is not None:
                    gate.mark_gap(symbol, action.start_ms, action.end_ms, action.filled)
            elif isinstance(action, StartWindow):
                loop = asyncio.get_running_loop()
                self._windows[symbol] = loop.call_later(
                    action.seconds, self._window_closed, seq, action.token
                )
            else:
                self._inflight[symbol] = self._tasks.spawn(
                    self._fetch(seq, action), f"seq:{symbol}"
                )

    def _window_closed(self, seq: Sequencer, token: int) -> None:
        if self._seqs.get(seq.symbol) is seq:
            self._run(seq, seq.window_closed(token))

    async def _fetch(self, seq: Sequencer, request: Fetch) -> None:
        """One REST request of `seq`; its answer (or why it failed) goes back to `seq`."""
        symbol = seq.symbol
        actions: Iterable[Action]
        try:
            if isinstance(request, FetchTrades):
                ticks = await self._fetcher.trades(
                    symbol, request.first, request.upto, since_ms=request.since_ms
                )
                actions = seq.trades_fetched(request, ticks)
            elif isinstance(request, FetchLatest):
                actions = seq.latest_fetched(request, await self._fetcher.latest(symbol))
            else:
                first = await self._fetcher.first_id_since(symbol, request.since_ms)
                actions = seq.first_id_fetched(request, first)
        except asyncio.CancelledError:
            raise
        except BackfillError as exc:
            actions = seq.fetch_failed(request, str(exc))
        except Exception as exc:  # not the fetcher's own error: logged, and the gap given up
            log.exception("feed: %s: REST request failed", symbol)
            actions = seq.fetch_failed(request, f"{type(exc).__name__}: {exc}")
        if self._seqs.get(symbol) is seq:
            self._run(seq, actions)

    def _cancel(self, seq: Sequencer) -> None:
        """Drop `seq`'s request and window, and let go of its hold."""
        task = self._inflight.pop(seq.symbol, None)
        if task is not None:
            task.cancel()
        handle = self._windows.pop(seq.symbol, None)
        if handle is not None:
            handle.cancel()
        self._run(seq, seq.cancel())
