"""The ledger seam: what the trading side asks of its store, whatever the store is.

The store (`storage.sql.SqlLedger`: SQLite by default, PostgreSQL by URL) keeps every entry
(order records, signal notes, exchange resets, variant controls: `execution.codec`) in the
order appended. The contract:

- `await append(entry)` returns once the entry is durable (with whatever else was appended in
  the same loop turn): the executor awaits an intent before it sends the order, an outcome
  before it tells anyone. `append_nowait(entry)` queues without waiting, in order.
- a failed write makes the ledger unavailable (`failure` says why): the waiting append fails,
  later appends raise `LedgerUnavailableError` (nothing is sent, no request waits), and the
  ledger is available again once the failed entries are written (the store retries them).
- `records()` replays every entry in order; the queries below answer from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from aggregation.models import Candle
from core.errors import RetryableError
from execution.codec import CandleNote, Entry
from execution.models import OrderRecord, OrderStatus
from strategy.models import SignalRaised

T = TypeVar("T")

OUTCOMES = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.REJECTED,
        OrderStatus.ABANDONED,
        OrderStatus.OPEN,  # a stop the exchange accepted: no longer an unknown outcome
        OrderStatus.CANCELED,
    }
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a history page is filtered by (times in epoch ms: since inclusive, until not)."""

    variant: str | None = None
    symbol: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of a history page, oldest first, and the cursor of the older page (None: this is
    the oldest)."""

    rows: list[T]
    next: int | None


class LedgerUnavailableError(RetryableError):
    """The ledger cannot be written now (the database is lost, the disk is full): nothing that
    needs a durable entry happens until it can (an order is not sent, a control not taken)."""


class Ledger(Protocol):
    """The append-only store of the trading side (see the module docstring)."""

    @property
    def name(self) -> str:
        """Where it is, for logs and errors (a database URL without its password)."""

    @property
    def failure(self) -> str | None:
        """Why the ledger cannot be written any more (None while it can)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def append(self, record: Entry) -> None: ...

    def append_nowait(self, record: Entry) -> None: ...

    def records(self) -> list[Entry]: ...

    def orders(self) -> list[OrderRecord]: ...

    def open_intents(self) -> list[OrderRecord]: ...

    def trades(
        self,
        symbol: str | None = None,
        variant: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[OrderRecord]: ...

    def candles(self, symbol: str, limit: int) -> list[Candle]: ...

    async def fills_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[OrderRecord]: ...

    async def signals_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[SignalRaised]: ...


class RecordedEntries:
    """The queries of the seam over the entries in memory, in ledger order."""

    def __init__(self) -> None:
        self._records: list[Entry] = []

    def records(self) -> list[Entry]:
        """Every entry, in ledger order (order records, signal notes, resets, controls)."""
        return list(self._records)

    def orders(self) -> list[OrderRecord]:
        """Every order record (intents and outcomes), in ledger order."""
        return [r for r in self._records if isinstance(r, OrderRecord)]

    def open_intents(self) -> list[OrderRecord]:
        """Intents that have no outcome yet (in flight, or interrupted by a crash)."""
        orders = self.orders()
        done = {r.client_order_id for r in orders if r.status in OUTCOMES}
        return [
            r for r in orders if r.status is OrderStatus.INTENT and r.client_order_id not in done
        ]

    def trades(
        self,
        symbol: str | None = None,
        variant: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[OrderRecord]:
        """Filled orders, oldest first; `since` is a fill time in epoch ms (inclusive);
        `limit` keeps the most recent ones."""
        out = [
            r
            for r in self._records
            if isinstance(r, OrderRecord)
            and r.status is OrderStatus.FILLED
            and (symbol is None or r.symbol == symbol)
            and (variant is None or r.variant == variant)
            and (since is None or (r.fill_time_ms or 0) >= since)
        ]
        if limit is not None:
            out = out[-limit:] if limit > 0 else []
        return out

    def candles(self, symbol: str, limit: int) -> list[Candle]:
        """The newest `limit` closed 1-minute candles of `symbol` the ledger holds, oldest
        first (each open time once: the newest entry of a minute wins)."""
        by_minute: dict[int, Candle] = {}
        for entry in reversed(self._records):
            if isinstance(entry, CandleNote) and entry.candle.symbol == symbol:
                by_minute.setdefault(entry.candle.open_time, entry.candle)
                if len(by_minute) >= limit:
                    break
        return [by_minute[t] for t in sorted(by_minute)]
