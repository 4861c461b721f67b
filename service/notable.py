"""Events no ledger entry causes, written to the outbox by a task of their own (when a channel
is configured) and shown as the page's toasts (/ws `notice`): health degraded and recovered, a
variant halted (by its risk limits or the service) and back, and the daily summary per variant
at NOTIFY_DAILY_UTC (on the service's clock, so a simulated day has its summary too). A pause
or resume by a person is a ledger entry (a `control`): its event comes from the ledger.

Health speaks only of changes between `ok` and `degraded` once the service has been `ok`
(the start, with its feeds connecting, is not news), with the reasons. The daily summary's
id is its date (`daily-2026-12-07`): a restart that says it again is not a new event.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.clock import Clock
from execution.numbers import pct_text, quote_text
from execution.variant_state import VariantState
from storage import outbox
from storage.database import Database
from storage.outbox import Event, OutboxPolicy

if TYPE_CHECKING:
    from service.container import Service

log = logging.getLogger(__name__)

CHECK_S = 1.0
DAY_MS = 86_400_000


def next_boundary(now_ms: int, at_minute: int) -> int:
    """The first time at or after `now_ms` that is `at_minute` minutes past 00:00 UTC."""
    day = now_ms // DAY_MS * DAY_MS
    moment = day + at_minute * 60_000
    return moment if moment >= now_ms else moment + DAY_MS


def halt_events(
    before: dict[str, tuple[str, str | None]], now: list[VariantState], now_ms: int
) -> list[Event]:
    """A `variant` event for each variant that became halted or stopped being halted since
    `before` (variant -> (state, reason)); `before` is updated. A variant seen the first time
    is not news (the start)."""
    events: list[Event] = []
    for v in now:
        state, reason = v.state.value, v.reason
        was = before.get(v.variant)
        before[v.variant] = (state, reason)
        if was is None or (was[0] == "halted") == (state == "halted"):
            continue
        action = "halted" if state == "halted" else "resumed"
        why = reason if state == "halted" else f"no longer halted ({was[1]})"
        events.append(Event(
            f"variant-{v.variant}-{action}-{now_ms}", "variant", now_ms,
            {"variant": v.variant, "action": action, "reason": why, "stop_loss": None,
             "parameters": {}},
        ))  # fmt: skip
    return events


class Notables:
    def __init__(
        self,
        service: Service,
        db: Database | None,
        policy: OutboxPolicy | None,
        clock: Clock,
        daily_at: int,
    ) -> None:
        self._service = service
        self._db = db
        self._policy = policy
        self._clock = clock
        self._daily_at = daily_at

    async def run(self) -> None:
        last: str | None = None
        seen_ok = False
        due = next_boundary(self._clock.now_ms(), self._daily_at)
        states: dict[str, tuple[str, str | None]] = {}
        while True:
            events: list[Event] = []
            report = self._service.health()
            now = self._clock.now_ms()
            events += halt_events(states, list(report.variants), now)
            if report.status != last and seen_ok:
                data = {"status": report.status, "reasons": list(report.reasons)}
                events.append(Event(f"health-{now}", "health", now, data))
            seen_ok = seen_ok or report.status == "ok"
            last = report.status
            if now >= due:
                events.append(self.daily(due))
                due = next_boundary(now + 1, self._daily_at)
            if events:
                self._service.notices.events(events)  # the page's toasts
            rows = self._policy.event_rows(events) if events and self._policy is not None else []
            if rows and self._db is not None:
                try:
                    await asyncio.to_thread(self._add, rows)
                except Exception as exc:  # the database is lost: /health says so already
                    log.warning("%d notification events not written: %s", len(events), exc)
            await asyncio.sleep(CHECK_S)

    def _add(self, rows: list[dict[str, Any]]) -> None:
        assert self._db is not None
        with self._db.engine.connect() as conn:
            outbox.add(conn, rows)

    def daily(self, at_ms: int) -> Event:
        """The summary at `at_ms`: each variant's figures since its start (P&L, return, max
        drawdown, round trips, win rate, fees) and its realized P&L of the UTC day that ends."""
        date = datetime.fromtimestamp((at_ms - 1) / 1000, UTC).strftime("%Y-%m-%d")
        report = self._service.performance.report()
        risk = self._service.executor.risk
        day = (at_ms - 1) // DAY_MS
        variants = []
        for v in report.variants:
            f = v.figures
            day_pnl = risk.daily.pnl.get((v.variant, day), 0)
            variants.append({  # as GET /performance shows them
                "variant": v.variant, "equity": quote_text(v.equity),
                "pnl": quote_text(f.realized_pnl + f.unrealized_pnl),
                "return_pct": pct_text(f.return_pct),
                "max_drawdown_pct": pct_text(f.max_drawdown_pct),
                "trades": f.stats.round_trips, "win_rate": f.stats.win_rate,
                "fees": quote_text(f.fees),
                "day_realized_pnl": quote_text(Decimal(day_pnl)),
            })  # fmt: skip
        return Event(f"daily-{date}", "daily", at_ms, {"date": date, "variants": variants})
