"""The trade-stream supervisor: one multiplexed python-binance socket, reconnected forever.

python-binance's `ReconnectingWebsocket` gives up after 5 reconnects; this supervisor owns
reconnecting instead (each socket is set up for it in `data_ingestion.connection`). It hands
every frame to the feed (`data_ingestion.feed.TradeFeed`, which sequences each symbol's trades)
and holds the symbols in the gate while the connection cannot be trusted:

- drops, python-binance error messages (its read loop ends on a queue overflow or when it
  cannot connect) and silence for `watchdog_s`: reconnect with jittered exponential backoff
  (0.5 s ×1.8 up to 30 s; reset after a connection that lived `healthy_s`);
  the unable-to-connect log line suggests `--simulate`;
- while reconnecting every symbol is held in the gate (the aggregator closes none of its
  minutes); after the reconnect each symbol catches up from REST by trade id (its sequencer
  holds it meanwhile) before this hold is let go;
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
market.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from binance.exceptions import ReadLoopClosed

from core.tasks import TaskOwner
from data_ingestion.backfill import BackfillError
from data_ingestion.backoff import Backoff
from data_ingestion.connection import StreamConnection, open_connection
from data_ingestion.sequencer import MarketGate

log = logging.getLogger(__name__)

SIMULATE_HINT = "is the testnet reachable? `python main.py --simulate` runs offline"


class StreamedSymbols(Protocol):
    """What the supervisor needs from the per-symbol side (`TradeFeed` satisfies it)."""

    def symbols(self) -> list[str]: ...

    def on_message(self, msg: dict[str, Any]) -> None: ...

    def count_malformed(self) -> None: ...

    def catch_up(self, symbol: str) -> bool: ...

    async def missed_trades(self) -> dict[str, int]: ...

    def behind(self, symbol: str, trade_id: int) -> bool: ...


class StreamSupervisor:
    """Keeps one socket streaming `<sym>@trade` for every symbol of `feed`, whatever happens."""

    def __init__(
        self,
        client: Any,
        feed: StreamedSymbols,
        gate: MarketGate | None = None,
        stream_url: str | None = None,
        watchdog_s: float = 30.0,
        planned_reconnect_s: float = 23 * 3600,
        healthy_s: float = 60.0,
        max_queue_size: int = 10_000,
        connect_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        silence_hold_s: float = 1.0,
    ) -> None:
        self._client = client
        self._feed = feed
        self._gate = gate
        self._stream_url = stream_url
        self.watchdog_s = watchdog_s
        self.planned_reconnect_s = planned_reconnect_s
        self.healthy_s = healthy_s
        self.silence_hold_s = silence_hold_s
        self.max_queue_size = max_queue_size  # of each new socket
        self._connect_timeout_s = connect_timeout_s
        self._backoff = backoff or Backoff()
        self._tasks = TaskOwner("feed")
        self._changed = asyncio.Event()
        self._conn: StreamConnection | None = None
        self.connected = False
        self._held_for_reconnect: set[str] = set()
        self._held_for_silence: set[str] = set()
        self._quiet_checked_at = 0.0  # loop time of the last silence check
        self._quiet_check: asyncio.Task[None] | None = None
        self._suspects: dict[str, int] = {}  # trade ids REST had and the stream had not
        self.quiet_checks = 0
        self.reconnects = 0
        self.planned_reconnects = 0
        self.last_error: str | None = None

    # -- public ---------------------------------------------------------------------------

    def start(self) -> None:
        """Hold every symbol now (so no minute closes before its trades can arrive) and run."""
        for symbol in self._feed.symbols():
            self._hold(symbol)
        self._tasks.spawn(self._supervise(), "supervisor")

    async def stop(self) -> None:
        """Stop reading, close the socket, let go of this supervisor's holds."""
        conn, self._conn = self._conn, None
        try:
            await self._tasks.cancel_all()
        finally:  # even when the caller's time-out cancels this stop: an open socket's read
            if conn is not None:  # loop would keep the process alive
                await conn.close()
        for symbol in list(self._held_for_reconnect):
            self._unhold(symbol)
        self._end_silence()

    def symbol_added(self, symbol: str) -> None:
        """Hold `symbol` until a socket streams it (a handoff to a new socket follows)."""
        self._hold(symbol)
        self._changed.set()

    def symbol_removed(self, symbol: str) -> None:
        """Let go of `symbol`'s holds; the next socket streams the others only."""
        self._unhold(symbol)
        if symbol in self._held_for_silence:
            self._held_for_silence.discard(symbol)
            if self._gate is not None:
                self._gate.release(symbol)
        self._changed.set()

    # -- holds ----------------------------------------------------------------------------

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
        for symbol in self._feed.symbols():
            if symbol not in self._held_for_silence:
                self._held_for_silence.add(symbol)
                if self._gate is not None:
                    self._gate.hold(symbol)

    def _end_silence(self) -> None:
        held, self._held_for_silence = self._held_for_silence, set()
        if self._gate is not None:
            for symbol in held:
                self._gate.release(symbol)

    def _go_live(self, symbols: tuple[str, ...]) -> None:
        """After a socket streams `symbols`: each catches up from REST (its sequencer holds it),
        then this hold is let go."""
        for symbol in symbols:
            if symbol in self._held_for_reconnect and self._feed.catch_up(symbol):
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
        on_message = self._feed.on_message
        me = asyncio.current_task()
        while True:
            try:
                msg = await conn.sock.recv()
            except ReadLoopClosed as exc:
                conn.fail(f"read loop closed: {exc}")
                return
            if me is not None and me.cancelling():
                # python-binance's recv() awaits asyncio.wait_for, which on Python 3.11 can
                # return a message and swallow the cancel that arrived with it: the reader
                # would go on delivering after stop().
                raise asyncio.CancelledError
            conn.heard(loop.time())
            if self._held_for_silence or self._suspects:
                self._suspects = {}
                self._end_silence()
            if not isinstance(msg, dict):
                self._feed.count_malformed()
                continue
            if msg.get("e") == "error":
                conn.fail(f"{msg.get('type')}: {msg.get('m')}")
                return
            on_message(msg)

    def _streams(self) -> tuple[str, ...]:
        return tuple(sorted(self._feed.symbols()))

    async def _supervise(self) -> None:
        for symbol in self._feed.symbols():
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
            self.connected = True
            if self._streams() == symbols:
                self._changed.clear()  # else a symbol changed while connecting: hand off
            self._go_live(symbols)  # each catches up from REST (holding) before release
            log.info("feed: connected, streams %s", ",".join(s.lower() for s in symbols))
            reason = await self._watch()
            conn = self._conn
            self._conn = None
            self.connected = False
            for symbol in self._feed.symbols():
                self._hold(symbol)
            self._end_silence()
            if not self._feed.symbols():
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
            if self._changed.is_set() and not self._feed.symbols():
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
            missed = await self._feed.missed_trades()
            stalled = [
                f"{sym} #{tid}"
                for sym, tid in self._suspects.items()
                if self._feed.behind(sym, tid)
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
