"""The close timer: closes quiet minutes on the injected clock (CLOSE RULE, HELD SYMBOLS).

One timer on the clock fires once a market minute, at each minute's end + grace + `lag_ms`,
and closes what is due. Live it is scheduled on the event loop; on a ManualClock it fires while
the data moves the clock, so a backtest and a test close minutes exactly as the service does.

A firing much later than its time (`stall_ms` of market time: the process was stalled, or the
machine slept) closes nothing: the trades of those minutes may still be in the socket, or not
even sent yet, and the clock alone would close them flat. The timer stays suspended until the
stream proves current again: the pipeline sees a trade that arrived within the delivery lag
(`resume`), or the feed releases a symbol after its silence check or catch-up. Meanwhile
minutes close as their trades arrive (a later trade closes the minute). A ManualClock fires
each deadline on time, so a backtest never suspends.

It is also the feed's gate (`data_ingestion.sequencer.MarketGate`): holds and gaps pass to the
aggregator, and a release closes the minutes that fell due while the symbol was held at once,
not at the timer's next minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aggregation.aggregator import CandleAggregator
from core.clock import MINUTE_MS, Clock

log = logging.getLogger(__name__)

CLOSE_TIMER = "candle-close"


def first_deadline_ms(now_ms: int, grace_ms: int, lag_ms: int = 0) -> int:
    """The first instant at or after `now_ms` that is a minute's end + grace + lag."""
    offset = grace_ms + lag_ms
    return -((offset - now_ms) // MINUTE_MS) * MINUTE_MS + offset


class CloseTimer:
    """Closes `aggregator`'s due minutes on `clock` once started.

    `close` does the closing (default `aggregator.close_due(now - lag_ms)`; the pipeline
    passes its own, which a recording pipeline also records). `lag_ms` is how much later than
    the grace a minute closes: trades in flight between the exchange and the aggregator.
    `stall_ms`: how late a firing may be before the timer suspends itself (None: never).
    """

    def __init__(
        self,
        clock: Clock,
        aggregator: CandleAggregator,
        lag_ms: int = 0,
        close: Callable[[], object] | None = None,
        stall_ms: int | None = None,
    ) -> None:
        self.clock = clock
        self.aggregator = aggregator
        self.lag_ms = lag_ms
        self.stall_ms = stall_ms
        self._close = close or self._close_due
        self.running = False
        self.suspended = False  # after a stall, until the stream is current again
        self.stalls = 0
        self.errors = 0

    def start(self) -> None:
        start = first_deadline_ms(self.clock.now_ms(), self.aggregator.grace_ms, self.lag_ms)
        self.clock.set_timer(CLOSE_TIMER, MINUTE_MS, self._fire, start)
        self.running = True

    def stop(self) -> None:
        self.clock.cancel_timer(CLOSE_TIMER)
        self.running = False

    def close_now(self) -> None:
        """Close what is due now; a failure is logged and counted, the timer keeps going."""
        try:
            self._close()
        except Exception:
            self.errors += 1
            log.exception("closing due candles failed")

    def _fire(self, due_ms: int) -> None:
        late_ms = self.clock.now_ms() - due_ms
        if self.stall_ms is not None and late_ms > self.stall_ms:
            if not self.suspended:
                self.stalls += 1
                log.warning(
                    "the clock passed a candle close %.1f market minutes late (the process was"
                    " stalled or the machine slept): minutes close by their trades until the"
                    " stream is current again", late_ms / MINUTE_MS,
                )  # fmt: skip
            self.suspended = True
            return
        if not self.suspended:
            self.close_now()

    def resume(self) -> None:
        """The stream is current again (a trade within the delivery lag, a release)."""
        if self.suspended:
            self.suspended = False
            log.info("the stream is current again: quiet minutes close on the clock")
            if self.running:
                self.close_now()

    def _close_due(self) -> int:
        return self.aggregator.close_due(self.clock.now_ms() - self.lag_ms)

    # -- the feed's gate ------------------------------------------------------------------------

    def hold(self, symbol: str) -> None:
        self.aggregator.hold(symbol)

    def release(self, symbol: str) -> None:
        self.aggregator.release(symbol)
        if self.suspended:
            self.resume()  # the feed checked the symbol against REST: its stream is current
        elif self.running and not self.aggregator.is_held(symbol):
            self.close_now()

    def mark_gap(self, symbol: str, start_ms: int, end_ms: int, filled: bool) -> None:
        self.aggregator.mark_gap(symbol, start_ms, end_ms, filled)

    def resume_ms(self, symbol: str) -> int | None:
        return self.aggregator.resume_ms(symbol)
