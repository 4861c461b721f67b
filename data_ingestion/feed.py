"""The trade-stream supervisor: one multiplexed python-binance socket, reconnected forever.

python-binance's `ReconnectingWebsocket` gives up after 5 reconnects; this supervisor owns
reconnecting instead (each socket is set up for it in `data_ingestion.connection`).

- drops, python-binance error messages (its read loop ends on a queue overflow or when it
  cannot connect) and silence for `watchdog_s`: reconnect with jittered exponential backoff
  (0.5 s ×1.8 up to 30 s; reset after a connection that lived `healthy_s`);
  the unable-to-connect log line suggests `--simulate`;
- while reconnecting every symbol is held in the gate (the aggregator closes none of its
  minutes); after the reconnect each symbol catches up from REST by trade id: each symbol's
  `Sequencer` decides (dedupe, reorder window, gaps, holds), this module carries its actions
  out (`_run`: deliver, hold, release, mark a gap, start a window, fetch from REST);
  a connection silent for `silence_hold_s` holds them too, and asks REST for each symbol's
  latest trade id (aggTrades, weight 2): a newer id than the stream's last means a stalled
  stream (reconnect now, catch up); none means a quiet market (release; ask again after
  another `silence_hold_s`). With `silence_hold_s` <= the aggregator's close grace, no minute
  closes on the clock unless a check after its end found nothing missing; if REST fails the
  hold stays until the next message or the watchdog's reconnect;
- a symbol added at run time is held until the new socket streams it and its REST start
  (from the warm-up's resume point) is done;
- `planned_reconnect_s` (23 h, before Binance's 24 h cutoff) and symbol changes open the new
  socket first and close the old one after the new one's first message: the trade-id dedupe
  makes the overlap harmless.
Times here (watchdog, connection age) are loop time: they measure the connection, not the
market; `last_message_ms` is the injected clock's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from binance.exceptions import ReadLoopClosed

from core.clock import Clock
from core.tasks import TaskOwner
from data_ingestion.backfill import BackfillError, TradeFetcher
from data_ingestion.backoff import Backoff
from data_ingestion.connection import StreamConnection, open_connection
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

log = logging.getLogger(__name__)

SIMULATE_HINT = "is the testnet reachable? `python main.py --simulate` runs offline"
LIVE, RECONNECTING, BACKFILLING, STALE = "live", "reconnecting", "backfilling", "stale"


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
    """Streams `<sym>@trade` for every symbol into `on_tick`, in trade-id order, no gaps."""

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
        self._client = client
        self._on_tick = on_tick
        self._clock = clock
        self._gate = gate
        self._stream_url = stream_url
        self.watchdog_s = watchdog_s
        self.planned_reconnect_s = planned_reconnect_s
        self.healthy_s = healthy_s
        self.silence_hold_s = silence_hold_s
        self._reorder_window_s = reorder_window_s
        self.max_queue_size = max_queue_size  # of each new socket
        self._connect_timeout_s = connect_timeout_s
        self._backoff = backoff or Backoff()
        self._fetcher = fetcher or TradeFetcher(client)
        self._tasks = TaskOwner("feed")
        self._seqs: dict[str, Sequencer] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}  # a symbol's REST request
        self._windows: dict[str, asyncio.TimerHandle] = {}  # a symbol's reorder window
        self._last_msg: dict[str, tuple[int, float]] = {}  # clock ms, loop time
        self._changed = asyncio.Event()
        self._conn: StreamConnection | None = None
        self._connected = False
        self._held_for_reconnect: set[str] = set()
        self._held_for_silence: set[str] = set()
        self._quiet_checked_at = 0.0  # loop time of the last silence check
        self._quiet_check: asyncio.Task[None] | None = None
        self._suspects: dict[str, int] = {}  # trade ids REST had and the stream had not
        self.quiet_checks = 0
        self.reconnects = 0
        self.planned_reconnects = 0
        self.malformed = 0
        self.ignored = 0
        self.callback_errors = 0
        self.last_error: str | None = None
        for symbol in symbols:
            self._add_seq(symbol.upper())

    # -- public ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Hold every symbol now (so no minute closes before its trades can arrive) and run."""
        for symbol in self._seqs:
            self._hold(symbol)
        self._tasks.spawn(self._supervise(), "supervisor")

    async def stop(self) -> None:
        conn, self._conn = self._conn, None
        for seq in self._seqs.values():
            self._cancel(seq)
        await self._tasks.cancel_all()
        if conn is not None:
            await conn.close()
        for symbol in list(self._held_for_reconnect):
            self._unhold(symbol)
        self._end_silence()

    async def add_symbol(self, symbol: str) -> None:
        """Stream `symbol` too; it is held until the new socket delivers and its start is known."""
        symbol = symbol.upper()
        if symbol not in self._seqs:
            self._add_seq(symbol)
            self._hold(symbol)
            self._changed.set()

    async def remove_symbol(self, symbol: str) -> None:
        seq = self._seqs.pop(symbol.upper(), None)
        if seq is None:
            return
        self._cancel(seq)
        self._unhold(seq.symbol)
        if seq.symbol in self._held_for_silence:
            self._held_for_silence.discard(seq.symbol)
            if self._gate is not None:
                self._gate.release(seq.symbol)
        self._last_msg.pop(seq.symbol, None)
        self._changed.set()

    def symbols(self) -> list[str]:
        return list(self._seqs)

    def states(self) -> dict[str, FeedState]:
        now_ms = self._clock.now_ms()
        loop_now = asyncio.get_running_loop().time()
        out: dict[str, FeedState] = {}
        for symbol, seq in self._seqs.items():
            last = self._last_msg.get(symbol)
            if not self._connected:
                status = RECONNECTING
            elif seq.busy:
                status = BACKFILLING if seq.backfilling else LIVE
            elif last is None or loop_now - last[1] > self.watchdog_s:
                status = STALE
            else:
                status = LIVE
            st = seq.stats
            out[symbol] = FeedState(
                symbol, status, self.reconnects,
                None if last is None else last[0],
                None if last is None else max(0, now_ms - last[0]),
                self.last_error, st.duplicates, st.gaps, st.backfilled_trades, st.unfilled_gaps,
            )  # fmt: skip
        return out

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

    def _hold(self, symbol: str) -> None:
        if symbol not in self._held_for_reconnect:
            self._held_for_reconnect.add(symbol)
            if self._gate is not None:
                self._gate.hold(symbol)

    def _unhold(self, symbol: str) -> None:
        if symbol in self._held_for_reconnect:
            self._held_for_reconnect.discard(symbol)
            if self._gate is not None:
                self._gate.release(symbol)

    def _start_silence(self) -> None:
        for symbol in self._seqs:
            if symbol not in self._held_for_silence:
                self._held_for_silence.add(symbol)
                if self._gate is not None:
                    self._gate.hold(symbol)

    def _end_silence(self) -> None:
        held, self._held_for_silence = self._held_for_silence, set()
        if self._gate is not None:
            for symbol in held:
                self._gate.release(symbol)

    def _go_live(self, symbols: Iterable[str]) -> None:
        """After a socket streams `symbols`: catch up from REST (it holds), then let go."""
        for symbol in symbols:
            seq = self._seqs.get(symbol)
            if seq is not None and symbol in self._held_for_reconnect:
                self._run(seq, seq.catch_up())
                self._unhold(symbol)

    # -- connections ----------------------------------------------------------------------

    async def _open(self, symbols: tuple[str, ...]) -> StreamConnection:
        conn = await open_connection(
            self._client, symbols, self._stream_url, self.max_queue_size, self._connect_timeout_s
        )
        conn.reader = self._tasks.spawn(self._read(conn), "reader")
        return conn

    async def _read(self, conn: StreamConnection) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                msg = await conn.sock.recv()
            except ReadLoopClosed as exc:
                conn.fail(f"read loop closed: {exc}")
                return
            conn.heard(loop.time())
            if self._held_for_silence or self._suspects:
                self._suspects = {}
                self._end_silence()
            if not isinstance(msg, dict):
                self.malformed += 1
                continue
            if msg.get("e") == "error":
                conn.fail(f"{msg.get('type')}: {msg.get('m')}")
                return
            self.on_message(msg)

    def _streams(self) -> tuple[str, ...]:
        return tuple(sorted(self._seqs))

    async def _supervise(self) -> None:
        for symbol in self._seqs:
            self._hold(symbol)
        while True:
            symbols = self._streams()
            if not symbols:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                conn = await self._open(symbols)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self._backoff.next_delay()
                self.last_error = f"connect failed: {type(exc).__name__}: {exc}"
                log.warning(
                    "feed: unable to connect to the trade stream (%s); retry %d in %.1fs (%s)",
                    self.last_error, self._backoff.attempts, delay, SIMULATE_HINT,
                )  # fmt: skip
                await asyncio.sleep(delay)
                continue
            self._conn = conn
            self._connected = True
            if self._streams() == symbols:
                self._changed.clear()  # else a symbol changed while connecting: hand off
            self._go_live(symbols)  # each catches up from REST (holding) before release
            log.info("feed: connected, streams %s", ",".join(s.lower() for s in symbols))
            reason = await self._watch()
            conn = self._conn
            self._conn = None
            self._connected = False
            for symbol in self._seqs:
                self._hold(symbol)
            self._end_silence()
            if not self._seqs:
                log.info("feed: no symbols left; closing the stream")
                if conn is not None:
                    self._tasks.spawn(conn.close(), "close")
                continue
            self.reconnects += 1
            self.last_error = reason
            if conn is not None:
                self._tasks.spawn(conn.close(), "close")
                if asyncio.get_running_loop().time() - conn.opened_at >= self.healthy_s:
                    self._backoff.reset()
            delay = self._backoff.next_delay()
            log.warning("feed: stream lost (%s); reconnecting in %.1fs", reason, delay)
            await asyncio.sleep(delay)

    async def _watch(self) -> str:
        """Until the current connection fails: watchdog, planned reconnects, symbol changes."""
        loop = asyncio.get_running_loop()
        tick_s = min(1.0, self.watchdog_s / 4, self.silence_hold_s / 2)
        while True:
            conn = self._conn
            assert conn is not None
            failed = asyncio.ensure_future(conn.failed.wait())
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({failed, changed}, timeout=tick_s, return_when="FIRST_COMPLETED")
            finally:
                failed.cancel()
                changed.cancel()
            if conn.failed.is_set():
                return conn.reason
            now = loop.time()
            silent = now - conn.last_msg_at
            if silent > self.watchdog_s:
                return f"no message for {silent:.1f}s (watchdog)"
            since_check = now - max(conn.last_msg_at, self._quiet_checked_at)
            if since_check > self.silence_hold_s and self._quiet_check is None:
                self._quiet_checked_at = now
                self._start_silence()
                self._quiet_check = self._tasks.spawn(self._check_quiet(conn), "quiet-check")
            if self._changed.is_set() and not self._seqs:
                return "no symbols"
            planned = now - conn.opened_at >= self.planned_reconnect_s
            if self._changed.is_set() or planned:
                self._changed.clear()
                why = "planned reconnect" if planned else "symbols changed"
                await self._handoff(conn, why)

    async def _check_quiet(self, conn: StreamConnection) -> None:
        """Silent stream: quiet market (release the hold) or stalled (fail the connection)?

        A trade REST knows and the stream has not delivered is a suspect (it may be in
        flight); still undelivered at the next check, the stream is stalled.
        """
        try:
            self.quiet_checks += 1
            missed: dict[str, int] = {}
            for symbol, seq in list(self._seqs.items()):
                if seq.busy or seq.last_id is None:
                    continue  # a busy sequencer holds its symbol itself; no id: no minute yet
                latest = await self._fetcher.latest(symbol)
                if latest is not None and seq.last_id is not None and latest[0] > seq.last_id:
                    missed[symbol] = latest[0]
            stalled = [
                f"{sym} #{tid}"
                for sym, tid in self._suspects.items()
                if sym in self._seqs and (self._seqs[sym].last_id or 0) < tid
            ]
            self._suspects = missed
            if stalled:
                conn.fail(f"stream silent while trades happened ({', '.join(stalled)})")
            elif not missed:
                self._end_silence()
        except BackfillError as exc:  # keep holding: the watchdog decides
            log.warning("feed: silence check failed: %s", exc)
        finally:
            self._quiet_check = None

    async def _handoff(self, old: StreamConnection, why: str) -> None:
        """Open the new socket first, close the old after the new one's first message."""
        try:
            new = await self._open(self._streams())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("feed: %s: new socket failed (%s); keeping the old one", why, exc)
            old.opened_at += min(60.0, self.planned_reconnect_s)  # try again later
            if why == "symbols changed":
                self._changed.set()
            await asyncio.sleep(self._backoff.next_delay())
            return
        self._conn = new
        if why == "planned reconnect":
            self.planned_reconnects += 1
        log.info("feed: %s: new socket open, closing the old one after its overlap", why)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(new.first_message.wait(), 2.0)
        self._go_live(new.symbols)  # symbols added since the old socket opened
        self._tasks.spawn(old.close(), "close-old")
