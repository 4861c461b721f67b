"""The minute rules of the aggregator, as named choices (each one is tested).

BOUNDARIES
    A trade belongs to minute `trade_time_ms // 60000`: the candle of minute m holds the trades
    with trade time in [m*60000, (m+1)*60000), left-closed like Binance's klines. Its close
    time is the last millisecond, (m+1)*60000 - 1.
CLOSE RULE
    A minute closes on the first trade of a later minute, or, for a quiet symbol, when the
    injected clock reaches the minute's end plus `grace_ms` (`close_due(now_ms)`, called by
    the close timer on the clock, `aggregation.timer.CloseTimer`). The grace (default 2 s,
    setting `candle_close_grace_s`) waits for trades still in flight; Binance's own
    closed-kline event comes ~1-2 s after the minute.
HELD SYMBOLS
    While a symbol's feed is reconnecting or backfilling it is held: the clock closes none of
    its minutes, because trades of those minutes may still arrive from the REST backfill.
EMPTY MINUTES
    A minute without trades becomes a flat candle: volume 0, trades 0,
    O=H=L=C=previous close (Binance's convention). Before any close is known (no warm-up and
    no trade yet) nothing is emitted.
LATE TRADES
    A trade for a minute that is already closed is counted (`late_trades`) and logged, never
    merged: a closed candle has been published and is never rewritten.
GAPS
    The feed reports trade-id gaps with `mark_gap(symbol, start_ms, end_ms, filled)`. Minutes
    touched by a filled gap get source=backfill; minutes touched by a gap that could not be
    filled close with complete=False, and strategies skip them.
WARM-UP
    `warm_up(symbol, candles)` seeds the history with closed REST klines (source=warmup; the
    still-open last kline is never among them). The next minute after the last warm-up
    candle is where live candles continue: the feed backfills trades from that minute's start
    (`resume_ms`) before the first live trade, so the minute in progress at start is complete
    and no minute with trades becomes a flat candle; if that backfill fails the minutes are
    marked incomplete.
HISTORY
    At most `history` closed candles per symbol are kept (default 1440, one day).
"""

from __future__ import annotations

from typing import Final

from core.clock import MINUTE_MS

DEFAULT_GRACE_MS: Final = 2_000
DEFAULT_HISTORY: Final = 1_440


def close_deadline_ms(minute: int, grace_ms: int) -> int:
    """CLOSE RULE: when the clock may close minute `minute` of a quiet symbol."""
    return (minute + 1) * MINUTE_MS + grace_ms
