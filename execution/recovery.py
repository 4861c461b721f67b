"""After a crash: reconcile intents without an outcome (positions come from the ledger's
trading state: execution.trading_state).

An intent without an outcome was interrupted between "journaled" and "outcome journaled".
It is looked up on the exchange by its client order id: found and executed -> filled (with
the exchange's fills); found with nothing executed -> rejected; confirmed absent (-2013, or
any paper intent: a paper broker's orders die with the process) -> abandoned. It is never
resent: the decision that made it is stale by now. A lookup the exchange cannot answer proves
nothing: the intent stays open and the next start looks again.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from core.clock import Clock
from core.symbols import split_symbol
from execution.brokers import Broker
from execution.errors import (
    ExchangeError,
    OrderNotExecutedError,
    RateLimitedError,
    TimestampError,
    classify,
)
from execution.models import OrderRecord

log = logging.getLogger(__name__)

Lot = tuple[str, str, Decimal | None]  # base asset, quote asset, LOT_SIZE step


def assets_of(broker: Broker, symbol: str) -> tuple[str, str]:
    """(base, quote) of a symbol: from the broker's rules, else from a known quote suffix."""
    try:
        rules = broker.rules(symbol)
        return rules.base_asset, rules.quote_asset
    except ExchangeError:
        return split_symbol(symbol) or (symbol, "")


async def reconcile(
    intents: list[OrderRecord],
    broker: Broker,
    clock: Clock,
    attempts: int = 20,
    backoff_s: float = 0.1,
    backoff_max_s: float = 2.0,
) -> list[OrderRecord]:
    """Outcomes for every open intent, looked up on the exchange by client order id. An
    intent the exchange cannot answer for after `attempts` stays open (next start retries)."""
    outcomes: list[OrderRecord] = []
    for intent in intents:
        if intent.order_type != "MARKET":
            continue  # a stop's intent: execution.stops reconciles it
        delay = backoff_s
        for _ in range(attempts):
            try:
                found = await broker.find_order(intent.symbol, intent.client_order_id)
            except Exception as raw:
                err = classify(raw)
                if isinstance(err, OrderNotExecutedError):
                    outcomes.append(intent.refused(str(err), err.code, clock.now_ms()))
                    break
                if isinstance(err, TimestampError):
                    try:
                        await broker.resync_time()
                    except Exception as sync_err:
                        log.warning("reconcile: time resync failed: %s", classify(sync_err))
                wait = err.retry_after_s if isinstance(err, RateLimitedError) else delay
                log.warning("reconcile %s: %s", intent.client_order_id, err)
                await asyncio.sleep(wait)
                delay = min(delay * 2, backoff_max_s)
                continue
            now = clock.now_ms()
            if found is None:
                why = "not on the exchange after a restart (never sent)"
                outcomes.append(intent.refused(why, None, now, abandoned=True))
            else:
                outcomes.append(intent.filled_by(found, now))
            log.info("reconciled %s: %s", intent.client_order_id, outcomes[-1].status.value)
            break
        else:
            log.error(
                "reconcile %s: the exchange did not answer; left open", intent.client_order_id
            )
    return outcomes
