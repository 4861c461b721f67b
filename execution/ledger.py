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
- `trading_state(make)` folds the ledger into a fresh `execution.trading_state.TradingState`
  (from the newest checkpoint, then the entries after it) and keeps checkpointing it; the
  queries below read the database's indexes. Nothing is held in memory per entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from aggregation.models import Candle
from core.errors import RetryableError
from execution.codec import Entry
from execution.models import OrderRecord, OrderStatus
from execution.performance import FeeQuote, RoundTrip
from strategy.models import SignalRaised

if TYPE_CHECKING:
    from execution.trading_state import TradingState

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

    def on_committed(self, listener: Callable[[list[tuple[int, Entry]]], None]) -> None:
        """`listener` gets each batch of entries once committed (from the writer's thread)."""

    async def stop(self) -> None: ...

    async def append(self, record: Entry) -> None: ...

    def append_nowait(self, record: Entry) -> None: ...

    async def trading_state(self, make_state: Callable[[], TradingState]) -> TradingState:
        """`make_state()` folded up to the newest entry (off the event loop); from then on the
        ledger writes checkpoints of the same fold as entries are appended."""

    async def candles(self, symbol: str, limit: int) -> list[Candle]: ...

    async def recent_signals(self, limit: int) -> list[SignalRaised]: ...

    async def fills_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[OrderRecord]: ...

    async def signals_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> Page[SignalRaised]: ...

    async def equity_page(
        self, filters: Filters, limit: int, cursor: int | None
    ) -> tuple[Page[tuple[int, Decimal]], int | None]: ...

    async def round_trips_page(
        self, filters: Filters, limit: int, cursor: int | None, fee_quote: FeeQuote
    ) -> Page[tuple[str, str, RoundTrip]]: ...
