"""After a crash: rebuild positions from the journal, reconcile intents without an outcome.

An intent without an outcome was interrupted between "journaled" and "outcome journaled".
It is looked up on the exchange by its client order id: found and executed -> filled (with
the exchange's fills); found with nothing executed -> rejected; confirmed absent (-2013, or
any paper intent: a paper broker's orders die with the process) -> abandoned. It is never
resent: the decision that made it is stale by now.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal

from core.clock import Clock
from execution.brokers import Broker
from execution.errors import (
    ExchangeError,
    OrderRejectedError,
    RateLimitedError,
    TimestampError,
    classify,
)
from execution.journal import INTENT, Journal
from execution.models import (
    OrderIntent,
    OrderOutcome,
    OrderStatus,
    filled_outcome,
    rejected_outcome,
)
from execution.positions import PositionBook
from execution.risk import RiskManager
from strategy.models import Side, SignalReason

log = logging.getLogger(__name__)
_QUOTES = ("USDT", "FDUSD", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


def assets_of(broker: Broker, symbol: str) -> tuple[str, str]:
    """(base, quote) of a symbol: from the broker's rules, else from a known quote suffix."""
    try:
        rules = broker.rules(symbol)
        return rules.base_asset, rules.quote_asset
    except ExchangeError:
        for quote in _QUOTES:
            if symbol.endswith(quote):
                return symbol[: -len(quote)], quote
        return symbol, ""


def rebuild(
    journal: Journal,
    book: PositionBook,
    risk: RiskManager,
    assets: Callable[[str], tuple[str, str]],
) -> tuple[set[str], int]:
    """Replay filled outcomes into `book` and counters into `risk`.

    Returns the client order ids already used (never sent again) and the last manual ref."""
    seen: set[str] = set()
    last_manual = 0
    for rec in journal.records():
        cid = rec.get("client_order_id")
        kind = rec.get("type")
        if cid:
            seen.add(str(cid))
        if kind == INTENT:
            risk.record_order(str(rec["variant"]), int(rec["time"]))
            if rec.get("reason") == SignalReason.MANUAL.value:
                last_manual = max(last_manual, int(rec.get("ref", 0)))
        elif kind == OrderStatus.FILLED.value:
            outcome = OrderOutcome.from_dict(rec)
            base, quote = assets(outcome.symbol)
            _, pnl = book.apply(outcome, base, quote)
            if pnl is not None:
                risk.record_pnl(outcome.variant, pnl, outcome.fill_time_ms or outcome.time_ms)
    return seen, last_manual


def intent_from_record(rec: dict[str, object]) -> OrderIntent:
    return OrderIntent(
        client_order_id=str(rec["client_order_id"]),
        variant=str(rec["variant"]),
        symbol=str(rec["symbol"]),
        side=Side(str(rec["side"])),
        quantity=Decimal(str(rec["quantity"])),
        reason=SignalReason(str(rec["reason"])),
        mode=str(rec["mode"]),
        signal_time_ms=int(str(rec["signal_time"])),
        ref=int(str(rec.get("ref", 0))),
        closing=bool(rec.get("closing", False)),
        created_ms=int(str(rec["time"])),
    )


async def reconcile(
    journal: Journal,
    broker: Broker,
    clock: Clock,
    attempts: int = 20,
    backoff_s: float = 0.1,
    backoff_max_s: float = 2.0,
) -> list[OrderOutcome]:
    """Outcomes for every open intent, looked up on the exchange by client order id. An
    intent the exchange cannot answer for after `attempts` stays open (next start retries)."""
    outcomes: list[OrderOutcome] = []
    for rec in journal.open_intents():
        intent = intent_from_record(rec)
        delay = backoff_s
        for _ in range(attempts):
            try:
                found = await broker.find_order(intent.symbol, intent.client_order_id)
            except Exception as raw:
                err = classify(raw)
                if isinstance(err, OrderRejectedError):
                    outcomes.append(rejected_outcome(intent, str(err), err.code, clock.now_ms()))
                    break
                if isinstance(err, TimestampError):
                    await broker.resync_time()
                    continue
                wait = err.retry_after_s if isinstance(err, RateLimitedError) else delay
                log.warning("reconcile %s: %s", intent.client_order_id, err)
                await asyncio.sleep(wait)
                delay = min(delay * 2, backoff_max_s)
                continue
            now = clock.now_ms()
            if found is None:
                why = "not on the exchange after a restart (never sent)"
                outcomes.append(rejected_outcome(intent, why, None, now, abandoned=True))
            else:
                outcomes.append(filled_outcome(intent, found, now))
            log.info("reconciled %s: %s", intent.client_order_id, outcomes[-1].status.value)
            break
        else:
            log.error(
                "reconcile %s: the exchange did not answer; left open", intent.client_order_id
            )
    return outcomes
