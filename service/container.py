"""The service: every component built from one Settings, started and stopped together.

`Service.start()` never waits for the exchange: exchangeInfo, the server time and the warm-up are
fetched by a background task that retries with backoff (and says so in the log and /health),
so the API is up even when the testnet is not reachable. What it reports about itself (/health,
the /ws `status`, /metrics sources) is `service.status.ServiceStatus`'s.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aggregation.models import Candle, CandleSource
from aggregation.warmup import warm_up_from_rest
from config import Settings
from core.clock import MINUTE_MS, Clock
from core.errors import FatalError
from core.events import parse_levels
from core.tasks import TaskOwner
from execution.codec import SignalNote
from execution.exchange_check import check_account
from execution.models import OrderRecord
from execution.rules import parse_exchange_info
from execution.variant_state import State
from pipeline.pipeline import Pipeline
from recording.format import header_variants
from service.components import Components, EventRecorder, apply_rules
from service.controls import VariantControls
from service.errors import ConflictError, NotFoundError
from service.health import HealthReport
from service.log_feed import LogFeed
from service.logs import Scrubber, secrets_of
from service.notices import NoticeFeed
from service.performance import LivePerformance
from service.status import ServiceStatus
from strategy.models import SignalRaised

log = logging.getLogger(__name__)

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
TIME_SYNC_INTERVAL_S = 300.0
WARMUP_LIMIT = 1000
FEED_STOP_S = 1.0  # stopping is bounded: SIGINT -> exit within 5 s
DRAIN_S = 1.5  # queued orders get this long to finish (each is journaled either way)
MODES = ("paper", "testnet", "simulated")


def describe(exc: BaseException) -> str:
    """An error as one line, for logs and /health (python-binance errors carry no secrets)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


class Service:
    """Holds the components; the API reads them and calls the few methods below."""

    def __init__(
        self,
        settings: Settings,
        parts: Components,
        *,
        mode: str,
        clock: Clock,
        client: Any,
        recorder: EventRecorder | None = None,
        speed: float = 1.0,
    ) -> None:
        """`parts` come from the composition root (`wiring.compose.build_service`)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.settings = settings
        self.mode = mode
        self.clock = clock
        self.client = client
        self.parts = parts
        self.hub = parts.hub
        self.metrics = parts.metrics
        self.tick_store = parts.tick_store
        self.signals = parts.signals
        self.rules = parts.rules
        self._symbols: list[str] = list(settings.symbols)
        self.pipeline: Pipeline = self.parts.pipeline
        self.aggregator = self.pipeline.aggregator
        self.timeframes = self.pipeline.timeframes  # 3m … 1d candles (REST and /ws)
        self.engine = self.parts.engine
        self.executor = self.parts.executor
        self.positions = self.parts.positions
        self.ledger = self.parts.ledger
        self.feed = self.parts.feed
        self.states = self.parts.states
        self.recorder = recorder
        self._speed = speed
        self._exchange_symbols: dict[str, dict[str, Any]] = {}  # exchangeInfo entries
        self._recorded_info: set[str] = set()
        self._tasks = TaskOwner("service")
        self._feed_started = False
        self.status = ServiceStatus(
            mode=mode, clock=clock, hub=self.hub, metrics=self.metrics, states=self.states,
            ledger=self.ledger, tick_store=self.tick_store, symbols=self.symbols,
            feed=lambda: self.feed if self._feed_started else None,
        )  # fmt: skip
        self.status.set_exchange_error("connecting to the exchange", State.PAUSED)
        self.trading_ready = False  # the executor is started (rules loaded, journal recovered)
        self.controls = VariantControls(
            settings.variant_settings, ledger=self.ledger, executor=self.executor,
            engine=self.engine, states=self.states, clock=clock,
            history=lambda symbol: self.aggregator.history(symbol, settings.candle_history),
        )  # fmt: skip
        assert self.executor.accounts is not None  # from_settings builds them
        self.performance = LivePerformance(
            self.executor.accounts, hub=self.hub, clock=clock, lot=self.executor.lot,
        )  # fmt: skip
        self.executor.add_fill_listener(self.performance.on_fill)
        # The page's toasts: the notifications' events of each committed ledger entry.
        self.notices = NoticeFeed(self.hub, parse_levels(settings.notify_events))
        self.ledger.on_committed(self.notices.committed)
        # WARNING and ERROR lines for the dashboard's log view (sent to token holders only).
        self.log_feed = LogFeed(self.hub, clock, Scrubber(secrets_of(settings)))
        self.status.register_metric_sources(
            self.aggregator, None if self.executor.stops is None else self.executor.stops.counts
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self.status.mark_started()
        self.log_feed.install()
        self.notices.attach()
        if self.mode == "paper":
            log.warning(
                "PAPER MODE: no BINANCE_API_KEY/BINANCE_API_SECRET set; market data comes from %s,"
                " orders are simulated locally and never sent to the exchange",
                self.settings.binance_rest_url,
            )
        elif self.mode == "testnet":
            log.info("TESTNET MODE: orders are sent to %s", self.settings.binance_rest_url)
        else:
            log.info("SIMULATED MODE: the built-in simulator stands in for the exchange")
        if self.recorder is not None:
            await self.recorder.start()
            variants = header_variants(self.settings.variant_settings)
            self.recorder.record_header(
                {"mode": self.mode, "symbols": list(self._symbols), "speed": self._speed,
                 "variants": variants}
            )  # fmt: skip
        try:
            await self._open_ledger()
        except Exception as exc:  # the exchange step opens it again and reports why it can't
            log.error("the ledger cannot be read: %s", exc)
        self._tasks.spawn(self._connect(), "connect")
        self._tasks.spawn(self.pipeline.run_candle_updates(), "candle-updates")
        self._tasks.spawn(self.metrics.measure_loop_lag(), "loop-lag")
        self._tasks.spawn(self.parts.order_metrics.run(), "order-metrics")
        self._tasks.spawn(self.status.watch(), "status")
        self._tasks.spawn(self.performance.run(), "performance")
        if self.settings.telegram_bot_token is not None and self.settings.telegram_chat_id:
            from service.telegram_commands import TelegramCommands

            self._tasks.spawn(TelegramCommands(self.settings, self).run(), "telegram-commands")
        notifier = self.parts.notifier
        if notifier is not None:
            notifier.on_expired = self._notification_expired
            self._tasks.spawn(notifier.run(), "notifier")
        from core.events import parse_daily
        from service.notable import Notables

        # Health, halts and the daily summary: to the outbox when a channel is configured, and
        # always to the page's toasts.
        daily_at = parse_daily(self.settings.notify_daily_utc)
        notables = Notables(
            self,
            None if notifier is None else notifier.db,
            None if notifier is None else notifier.policy,
            self.clock,
            daily_at,
        )
        self._tasks.spawn(notables.run(), "notables")

    def _notification_expired(self, channel: str, total: int) -> None:
        """An event expired undelivered: counted in /metrics, named in /health's notices."""
        self.metrics.notifications_expired.inc()
        notice = (
            f"notifications: {total} expired undelivered (NOTIFY_EXPIRY_S); the last to {channel}"
        )
        self.status.notices[:] = [
            n for n in self.status.notices if not n.startswith("notifications:")
        ]
        self.status.notices.append(notice)

    async def stop(self) -> None:
        """Stop the stream, then the workers (draining the journal), then close the client."""
        self.pipeline.close_timer.stop()
        await self._tasks.cancel_all(grace_s=1.0)
        if self._feed_started:
            await _quietly(self.feed.stop(), "feed", FEED_STOP_S)
        if self.trading_ready:
            await _quietly(
                self.executor.stop(drain_timeout_s=2.0), "executor (draining the journal)"
            )
            self.trading_ready = False
        if self.recorder is not None:
            await _quietly(self.recorder.stop(), "recorder")
        await _quietly(self.client.close_connection(), "exchange client")
        self.log_feed.remove()
        self.notices.detach()

    async def _connect(self) -> None:
        """exchangeInfo, server time and warm-up, retried with capped jittered backoff; then
        the trade stream (which reconnects by itself from then on)."""
        delay = BACKOFF_FIRST_S
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._load_exchange()
                break
            except asyncio.CancelledError:
                raise
            except FatalError as exc:
                self.status.set_exchange_error(
                    f"cannot start trading: {describe(exc)}", State.HALTED
                )
                self.status.publish()
                log.error("cannot start trading (%s); the API stays up, no orders", describe(exc))
                return
            except Exception as exc:
                self.status.set_exchange_error(
                    f"exchange unreachable: {describe(exc)}", State.PAUSED
                )
                self.status.publish()
                log.warning(
                    "attempt %d to reach the exchange at %s failed (%s); retrying in %.1fs."
                    " No network? Run offline with `python main.py --simulate`.",
                    attempt,
                    self.settings.binance_rest_url if self.mode != "simulated" else "simulator",
                    describe(exc),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(BACKOFF_MAX_S, delay * 1.6) * random.uniform(0.8, 1.2)
        self.status.set_exchange_error(None)
        await self.feed.start()  # holds every symbol until its stream and backfill are live
        self._feed_started = True
        # Only now: before the feed holds the symbols, the clock would close the minutes after
        # the warm-up as flat candles although their trades are merely not fetched yet.
        self.pipeline.close_timer.start()
        self.status.publish()
        log.info("trade stream started for %s", ", ".join(self._symbols))
        self._tasks.spawn(self._sync_time_forever(), "time-sync")

    async def _open_ledger(self) -> None:
        """The ledger, read and writable before the exchange answers: the signal history is
        restored from it and every new signal goes into it, trading or not (once)."""
        if self.signals.on_add is not None:
            return
        await self.ledger.start()
        self.signals.restore(await self.ledger.recent_signals(self.signals.maxlen))
        self.signals.on_add = self._journal_signal

    async def _load_exchange(self) -> None:
        info = await self.client.get_exchange_info()
        self.rules.update(parse_exchange_info(info))
        entries = info.get("symbols") if isinstance(info, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("symbol"), str):
                self._exchange_symbols[entry["symbol"]] = entry
        for symbol in self._symbols:
            self._record_symbol_info(symbol)
        await apply_rules(self.parts.broker, self.rules)
        await self.parts.server_time.sync()
        if not self.trading_ready:
            # Journal recovery: positions rebuilt, open intents reconciled with the exchange.
            await self._open_ledger()
            state = await self.executor.start(reconcile_stops=False)
            self.controls.restore(state.control_entries())  # paused / re-configured stay so
            self.performance.restore(state.trips)
            if self.mode != "paper":
                await self._check_account()
            await self.executor.reconcile_stops()  # after a reset is known: none on a wiped one
            for symbol, variants in self.orphans().items():
                note = (
                    f"{', '.join(variants)} hold {symbol}, which is not in SYMBOLS: add it"
                    f" (POST /symbols/{symbol}) to trade or close it; its position is shown as is"
                )
                log.warning(note)
                self.status.notices.append(note)
            self.trading_ready = True
            self.status.on_ledger_back = self._recheck_stops
            if self.parts.stop_watch is not None:
                watch, stream = self.parts.stop_watch
                self._tasks.spawn(stream.run(), "user-stream")
                self._tasks.spawn(watch.poll_while_down(), "stop-poll")
            held = [f"{p.variant}/{p.symbol} {p.qty}" for p in self.positions.open()]
            log.info(
                "ledger %s recovered; open positions: %s",
                self.ledger.name,
                ", ".join(held) or "none",
            )
        for symbol in list(self._symbols):
            if symbol not in self.rules:
                log.error("symbol %s is not listed by the exchange; it gets no orders", symbol)
            await self._warm_up(symbol)

    def _recheck_stops(self) -> None:
        """Every stop asked about again, then every open position protected: what the
        exchange did while the ledger could not record it (a cancel, a fill) is recorded now,
        and a position whose stop went meanwhile gets a new one."""
        if self.executor.stops is None:
            return
        for stop in self.executor.stops.all_live():
            self.executor.check_stop(stop.variant, stop.symbol)
        for pos in self.positions.open():
            self.executor.check_stop(pos.variant, pos.symbol, protect=True)

    def _record_symbol_info(self, symbol: str) -> None:
        """The symbol's exchangeInfo entry into the recording, once (a replay's order rules)."""
        entry = self._exchange_symbols.get(symbol)
        if self.recorder is not None and entry is not None and symbol not in self._recorded_info:
            self._recorded_info.add(symbol)
            self.recorder.record_symbol_info(entry)

    async def _warm_up(self, symbol: str) -> None:
        limit = min(self.settings.candle_history, WARMUP_LIMIT)
        candles = await warm_up_from_rest(self.client, symbol, limit, self.clock.now_ms())
        stored = await self.ledger.candles(symbol, self.settings.candle_history)
        merged, from_ledger = with_stored(stored, candles)
        taken = self.pipeline.warm_up(symbol, merged)
        log.info(
            "warm-up of %s: %d closed candles (%d stored in the ledger, the rest REST klines)",
            symbol, taken, from_ledger,
        )  # fmt: skip

    async def _check_account(self) -> None:
        """Credentials, a testnet reset, and balances against the journal (see
        execution.exchange_check); a reset ends the journal's positions, visibly."""
        base_of = {symbol: rule.base_asset for symbol, rule in self.rules.items()}
        check = await check_account(self.client, self.executor.newest_fill, self.positions, base_of)
        if check.reset is not None:
            ended = await self.executor.end_positions_by_reset(check.reset)
            self.performance.on_reset()
            held = ", ".join(f"{p.variant}/{p.symbol} {p.held_qty}" for p in ended) or "none"
            log.warning("%s; positions ended without selling: %s", check.reset, held)
            when = datetime.fromtimestamp(self.clock.now_ms() / 1000, tz=UTC).isoformat()
            self.status.notices.append(f"exchange reset detected at {when}: {check.reset}")
        for mismatch in check.mismatches:
            log.warning("journal and account disagree: %s", mismatch)
        self.status.notices += [f"journal and account disagree: {m}" for m in check.mismatches]

    def _journal_signal(self, signal: SignalRaised) -> None:
        """Every signal goes to the journal too, so the signal history survives a restart."""
        try:
            self.ledger.append_nowait(SignalNote(signal))
        except RuntimeError as exc:
            log.warning("signal not journaled: %s", exc)

    async def _sync_time_forever(self) -> None:
        while True:
            await asyncio.sleep(TIME_SYNC_INTERVAL_S)
            try:
                await self.parts.server_time.sync()
            except Exception as exc:
                log.warning("server time sync failed: %s", describe(exc))

    # -- symbols -------------------------------------------------------------------------------

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def orphans(self) -> dict[str, list[str]]:
        """Symbols with an open position that are not subscribed: symbol -> its variants."""
        out: dict[str, list[str]] = {}
        for pos in self.positions.open():
            if pos.symbol not in self._symbols:
                out.setdefault(pos.symbol, []).append(pos.variant)
        return out

    async def add_symbol(self, symbol: str) -> None:
        """Subscribe to `symbol`: it must be listed in exchangeInfo and not subscribed yet."""
        if symbol in self._symbols:
            raise ConflictError(f"symbol {symbol} is already subscribed")
        if not self.rules:
            raise ConflictError("exchangeInfo is not loaded yet (is the exchange reachable?)")
        if symbol not in self.rules:
            raise NotFoundError(f"symbol {symbol} is not listed in the exchange's exchangeInfo")
        self._symbols.append(symbol)
        if self.recorder is not None:
            self._record_symbol_info(symbol)
            self.recorder.record_symbol("add", symbol)
        self.engine.add_symbol(symbol)
        self.aggregator.add_symbol(symbol)
        self.pipeline.close_timer.hold(
            symbol
        )  # no flat minutes between warm-up and its first trades
        try:
            await self._warm_up(symbol)
        except Exception as exc:
            log.warning("warm-up of %s failed: %s", symbol, describe(exc))
        try:
            if self._feed_started:
                await self.feed.add_symbol(symbol)  # the feed holds it until it streams
        finally:
            self.pipeline.close_timer.release(symbol)
        self.status.publish()

    async def remove_symbol(self, symbol: str, *, force: bool = False) -> list[str]:
        """Unsubscribe; with open positions only when `force` (they are closed first)."""
        if symbol not in self._symbols:
            raise NotFoundError(f"symbol {symbol} is not subscribed")
        holding = [p.variant for p in self.positions.open() if p.symbol == symbol]
        if holding and not force:
            raise ConflictError(
                f"{symbol} has open positions ({', '.join(holding)}); close them or use force=true"
            )
        for variant in holding:
            await self.executor.close_position(variant, symbol)
        if self._feed_started:
            await self.feed.remove_symbol(symbol)
        self._symbols.remove(symbol)
        if self.recorder is not None:
            self.recorder.record_symbol("remove", symbol)
        self.engine.remove_symbol(symbol)
        self.aggregator.remove_symbol(symbol)
        self.timeframes.drop(symbol)
        self.tick_store.drop(symbol)
        self.status.publish()
        return holding

    # -- health --------------------------------------------------------------------------------

    def health(self) -> HealthReport:
        return self.status.health()

    def not_trading(self) -> str:
        """Why orders are not taken yet, as /health says it (one line for a 409)."""
        reasons = "; ".join(self.health().reasons) or "the exchange has not answered yet"
        return f"not trading yet: {reasons} (see /health)"

    def mark_price(self, symbol: str) -> Decimal | None:
        """The price money figures are marked at (execution.accounts)."""
        accounts = self.executor.accounts
        return None if accounts is None else accounts.mark_price(symbol)

    def stop_of(self, variant: str, symbol: str) -> OrderRecord | None:
        """The stop resting on the exchange for this position (STOP_MODE=exchange)."""
        stops = self.executor.stops
        return None if stops is None else stops.live(variant, symbol)

    def stop_price(self, variant: str, symbol: str) -> Decimal | None:
        """Where this position's stop-loss sells: the resting stop order's price on the
        exchange, else the level the service checks every trade against; None when flat."""
        resting = self.stop_of(variant, symbol)
        if resting is not None and resting.stop_price is not None:
            return resting.stop_price
        position = self.positions.get(variant, symbol)
        stops = self.executor.stops
        if stops is not None:  # the order being placed (a fill's event comes first)
            return stops.price_for(position)
        if not position.is_open or position.entry_price is None:
            return None
        return position.entry_price * (1 - self.engine.stop_loss(variant))


def with_stored(stored: list[Candle], rest: list[Candle]) -> tuple[list[Candle], int]:
    """The ledger's closed candles, then the REST klines after them: the chart's history as it
    was seen, going on without a gap. Stored candles that would leave a gap before the REST
    window (the service was down longer than the window) are left out: indicators warm up on
    contiguous minutes only. Returns them and how many came from the ledger."""
    if not stored:
        return rest, 0
    last = stored[-1].open_time
    after = [c for c in rest if c.open_time > last]
    if after and after[0].open_time > last + MINUTE_MS:
        return rest, 0  # a gap: REST alone, as without a ledger
    past = [replace(c, source=CandleSource.WARMUP) for c in stored]  # history: never a signal
    return [*past, *after], len(stored)


async def _quietly(awaitable: Any, what: str, timeout_s: float = 1.0) -> None:
    try:
        await asyncio.wait_for(awaitable, timeout=timeout_s)
    except Exception as exc:
        log.warning("stopping the %s failed: %s", what, describe(exc))
