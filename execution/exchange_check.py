"""At start the exchange is the source of truth: is the account ours, was it reset?

- One signed account call checks the credentials (a `CredentialsError` halts trading).
- A testnet reset (the Spot Testnet is wiped about monthly: balances back to defaults, every
  order gone) shows as the journal's newest fill being unknown to the exchange (-2013). Then
  the positions built from the journal no longer exist: they end with an `ExchangeReset`
  entry instead of being sold blindly.
- Otherwise each asset the variants hold per the journal is compared with the account's
  balance: holding more than the account has is reported (the account is shared, so holding
  less is normal).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from execution.errors import OrderNotFoundError, classify
from execution.models import OrderRecord
from execution.numbers import plain
from execution.positions import PositionBook

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccountCheck:
    reset: str | None = None  # why we think the exchange was reset
    mismatches: list[str] = field(default_factory=list)


async def check_account(
    client: Any, newest: OrderRecord | None, positions: PositionBook, base_of: dict[str, str]
) -> AccountCheck:
    """`newest`: the ledger's newest fill since the last reset. Raises a typed ExchangeError
    (CredentialsError for refused keys)."""
    try:
        account = await client.get_account()
    except Exception as exc:
        raise classify(exc) from None
    if newest is not None:
        try:
            await client.get_order(symbol=newest.symbol, origClientOrderId=newest.client_order_id)
        except Exception as exc:
            err = classify(exc)
            if not isinstance(err, OrderNotFoundError):
                raise err from None
            return AccountCheck(
                reset=f"the exchange does not know order {newest.client_order_id}, the"
                " journal's newest fill: the exchange was reset (the testnet is wiped about"
                " monthly)"
            )
    balances = {
        str(b["asset"]): Decimal(str(b["free"])) + Decimal(str(b["locked"]))
        for b in account.get("balances", [])
    }
    held: dict[str, Decimal] = {}
    for pos in positions.all():
        asset = base_of.get(pos.symbol)
        if asset is not None and pos.held_qty > 0:
            held[asset] = held.get(asset, Decimal(0)) + pos.held_qty
    mismatches = [
        f"the journal's variants hold {plain(qty)} {asset}, the account only"
        f" {plain(balances.get(asset, Decimal(0)))}"
        for asset, qty in sorted(held.items())
        if qty > balances.get(asset, Decimal(0))
    ]
    return AccountCheck(mismatches=mismatches)
