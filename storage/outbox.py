"""The notifications' outbox: events derived from ledger entries, one row per (event, channel),
written in the transaction that commits the entries (storage.entries.commit_entries), so an
event exists exactly when the fact it tells does. The notifier (service/notifier.py) delivers
them at least once, each with its stable id (`fill-1234`: its kind and the entry's seq), so a
receiver can drop duplicates.

Sans-I/O here except the blocking reads and writes at the end (run them off the event loop).

Events from entries:
- `fill`: an order filled (an entry or an exit; a stop is an exit with reason stop_loss);
- `rejected`: an order refused by the exchange or by our checks (risk, filters, cash);
- `variant`: a person paused, resumed or re-configured a variant;
- `reset`: the exchange was reset (the journal's positions ended).

`NOTIFY_EVENTS` sets each kind `on`, `silent` (delivered; Telegram without a sound) or `off`
(not written at all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, select, update

from core.events import KINDS
from execution.codec import Entry, ExchangeReset, VariantControl
from execution.models import OrderRecord, OrderStatus
from storage import schema

PENDING, DELIVERED, EXPIRED = "pending", "delivered", "expired"


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    kind: str
    time_ms: int
    data: dict[str, Any]

    def body(self, silent: bool = False) -> dict[str, Any]:
        """The JSON every channel receives."""
        iso = datetime.fromtimestamp(self.time_ms / 1000, UTC).isoformat(timespec="milliseconds")
        return {
            "id": self.id,
            "type": self.kind,
            "time_ms": self.time_ms,
            "time_iso": iso.replace("+00:00", "Z"),
            "silent": silent,
            "data": self.data,
        }


def _plain(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def events_of(seq: int, entry: Entry) -> list[Event]:
    """The events ledger entry `seq` causes (most cause none: intents, signals, candles)."""
    if isinstance(entry, OrderRecord):
        if entry.status is OrderStatus.FILLED:
            return [
                Event(f"fill-{seq}", "fill", entry.fill_time_ms or entry.time_ms, {
                    "variant": entry.variant, "symbol": entry.symbol,
                    "side": entry.side.value, "entry": entry.side.value == "BUY",
                    "quantity": _plain(entry.executed_qty), "price": _plain(entry.avg_price),
                    "pnl": _plain(entry.realized_pnl), "reason": entry.reason.value,
                    "client_order_id": entry.client_order_id,
                })
            ]  # fmt: skip
        if entry.status is OrderStatus.REJECTED:
            return [
                Event(f"rejected-{seq}", "rejected", entry.time_ms, {
                    "variant": entry.variant, "symbol": entry.symbol, "side": entry.side.value,
                    "quantity": _plain(entry.quantity), "reason": entry.reason.value,
                    "error": entry.error, "error_code": entry.error_code,
                    "client_order_id": entry.client_order_id,
                })
            ]  # fmt: skip
        return []
    if isinstance(entry, VariantControl):
        return [
            Event(f"variant-{seq}", "variant", entry.time_ms, {
                "variant": entry.variant, "action": entry.action, "reason": entry.reason,
                "stop_loss": _plain(entry.stop_loss), "parameters": dict(entry.parameters),
            })
        ]  # fmt: skip
    if isinstance(entry, ExchangeReset):
        return [Event(f"reset-{seq}", "reset", entry.time_ms, {"detail": entry.detail})]
    return []


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    """Which events go where: the channels (webhook URLs, "telegram"), each kind's level, and
    the wall clock that stamps a row's creation (its expiry counts from it)."""

    channels: tuple[str, ...]
    levels: dict[str, str] = field(default_factory=lambda: dict.fromkeys(KINDS, "on"))
    wall_ms: Callable[[], int] = lambda: 0

    def rows(self, numbered: Sequence[tuple[int, Entry]]) -> list[dict[str, Any]]:
        """The outbox rows of `numbered` entries (none without a channel)."""
        return self.event_rows([e for seq, entry in numbered for e in events_of(seq, entry)])

    def event_rows(self, events: Sequence[Event]) -> list[dict[str, Any]]:
        """The outbox rows of `events`: one per channel, unless their kind is off."""
        if not self.channels:
            return []
        out: list[dict[str, Any]] = []
        now = self.wall_ms()
        for event in events:
            level = self.levels.get(event.kind, "on")
            if level == "off":
                continue
            body = orjson.dumps(event.body(silent=level == "silent")).decode()
            out.extend(
                {"event_id": event.id, "channel": channel, "kind": event.kind,
                 "time_ms": event.time_ms, "created_ms": now, "body": body, "attempts": 0,
                 "due_ms": 0, "state": PENDING, "error": None}
                for channel in self.channels
            )  # fmt: skip
        return out


# -- the notifier's reads and writes (blocking) ---------------------------------------------


def add(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rows of events no entry causes (health, the daily summary), committed; a row already
    there (the same event id and channel: a restart saying it again) is left as it is."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(schema.outbox).on_conflict_do_nothing()
    else:
        statement = schema.outbox.insert().prefix_with("OR IGNORE")
    with conn.begin():
        conn.execute(statement, rows)


@dataclass(frozen=True, slots=True)
class Row:
    event_id: str
    channel: str
    kind: str
    created_ms: int
    body: str
    attempts: int
    due_ms: int


def pending(conn: Connection, channel: str, limit: int) -> list[Row]:
    """The oldest pending rows of `channel`, in the order they were written, then by event
    time (one commit writes several at once) (a channel
    delivers in that order: a row that failed holds the ones after it until its retry)."""
    o = schema.outbox.c
    rows = conn.execute(
        select(o.event_id, o.channel, o.kind, o.created_ms, o.body, o.attempts, o.due_ms)
        .where(o.state == PENDING, o.channel == channel)
        .order_by(o.created_ms, o.time_ms, o.event_id)
        .limit(limit)
    )
    return [Row(*r) for r in rows]


def settle(
    conn: Connection, row: Row, state: str, due_ms: int = 0, error: str | None = None
) -> None:
    """Record a delivery attempt: delivered, expired, or pending again from `due_ms`."""
    o = schema.outbox.c
    with conn.begin():
        conn.execute(
            update(schema.outbox)
            .where(o.event_id == row.event_id, o.channel == row.channel)
            .values(state=state, attempts=row.attempts + 1, due_ms=due_ms, error=error)
        )


def counts(conn: Connection) -> dict[str, int]:
    """Rows per state (pending, delivered, expired)."""
    o = schema.outbox.c
    found: dict[str, int] = {
        str(state): int(n)
        for state, n in conn.execute(select(o.state, func.count()).group_by(o.state))
    }
    return {state: int(found.get(state, 0)) for state in (PENDING, DELIVERED, EXPIRED)}
