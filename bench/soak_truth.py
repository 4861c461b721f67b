"""The soak's independent check: what the exchange says happened, recomputed here from its
orders and fills (python-binance allOrders/myTrades), never with the service's own code.

Per (variant, symbol), from the exchange's fills of that variant's orders (an order belongs to
the variant whose journal intent carries its client order id):
- held     = Σ BUY qty − base-asset commissions − Σ SELL qty
- spent    = Σ BUY quote + quote-asset commissions on BUYs
- received = Σ SELL quote − quote-asset commissions on SELLs
- mtm      = received − spent − other-asset commissions (valued at 0 here: counted apart)
             + held × last price
A testnet reset wipes the account's orders, fills and balances: the books compared with the
service are those of the fills since the reset (the service starts its books again there);
the whole run's result (every fill, what was held at the reset written off) is printed too.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import orjson
from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from sqlalchemy import select

from storage import schema
from storage.database import Database

ZERO = Decimal(0)
PAGE = 1000


# -- the exchange ---------------------------------------------------------------------------


async def call(client: AsyncClient, name: str, **params: Any) -> Any:
    """One signed call, resynced to the server's (faulty, drifting) clock and retried through
    the injected 5xx/429/-1021 until it answers (at most 60 tries)."""
    last: Exception | None = None
    for _ in range(60):
        try:
            server = (await client.get_server_time())["serverTime"]
            client.timestamp_offset = int(server) - time.time_ns() // 1_000_000
            return await getattr(client, name)(**params)
        except BinanceAPIException as exc:
            last = exc
            if exc.code not in (-1021, -1001, -1003) and exc.status_code < 500:
                raise
        except (TimeoutError, OSError) as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{name}{params}: no answer after 60 tries: {last!r}")


async def fetch_orders(client: AsyncClient, symbol: str) -> list[dict[str, Any]]:
    """Every order of the account on `symbol` (allOrders, paged by orderId)."""
    out: list[dict[str, Any]] = []
    next_id = 0
    while True:
        page = await call(client, "get_all_orders", symbol=symbol, orderId=next_id, limit=PAGE)
        out.extend(page)
        if len(page) < PAGE:
            return out
        next_id = int(page[-1]["orderId"]) + 1


async def fetch_trades(client: AsyncClient, symbol: str) -> list[dict[str, Any]]:
    """Every fill of the account on `symbol` (myTrades, paged by trade id)."""
    out: list[dict[str, Any]] = []
    next_id = 0
    while True:
        page = await call(client, "get_my_trades", symbol=symbol, fromId=next_id, limit=PAGE)
        out.extend(page)
        if len(page) < PAGE:
            return out
        next_id = int(page[-1]["id"]) + 1


@dataclass
class Snapshot:
    """The exchange's orders and fills at one moment (before a reset, or at the end)."""

    orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # symbol -> orders
    trades: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # symbol -> fills

    @classmethod
    async def take(cls, client: AsyncClient, symbols: tuple[str, ...]) -> Snapshot:
        snap = cls()
        for symbol in symbols:
            snap.orders[symbol] = await fetch_orders(client, symbol)
            snap.trades[symbol] = await fetch_trades(client, symbol)
        return snap


async def lot_steps(client: AsyncClient, symbols: tuple[str, ...]) -> dict[str, Decimal]:
    info = await client.get_exchange_info()
    steps: dict[str, Decimal] = {}
    for entry in info["symbols"]:
        if entry["symbol"] in symbols:
            for f in entry["filters"]:
                if f["filterType"] == "LOT_SIZE":
                    steps[entry["symbol"]] = Decimal(f["stepSize"]).normalize()
    return steps


# -- the journal (read as a file: the service's record of what it did) -----------------------


@dataclass
class JournalView:
    intents: dict[str, dict[str, Any]]  # client order id -> intent
    filled: dict[str, dict[str, Any]]  # client order id -> filled outcome
    records: list[dict[str, Any]]  # every readable line, in order
    unreadable: int

    @classmethod
    def read(cls, path: Path) -> JournalView:
        """A JSON-lines journal (`main.py journal export`)."""
        return cls.of_lines(path.read_bytes().splitlines() if path.exists() else [])

    @classmethod
    def read_ledger(cls, url: str) -> JournalView:
        """The ledger at `url`, its entries' JSON lines in order (a reader beside the
        service: it never claims the ledger)."""
        db = Database.open(url, exchange=None, exclusive=False)
        try:
            with db.engine.connect() as conn:
                rows = conn.execute(
                    select(schema.entries.c.body).order_by(schema.entries.c.seq)
                ).all()
        finally:
            db.close()
        return cls.of_lines([body.encode() for (body,) in rows])

    @classmethod
    def of_lines(cls, lines: list[bytes]) -> JournalView:
        records: list[dict[str, Any]] = []
        bad = 0
        for line in lines:
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                bad += 1
                continue
            if isinstance(rec, dict):
                records.append(rec)
        intents = {str(r["client_order_id"]): r for r in records if r.get("type") == "intent"}
        filled = {str(r["client_order_id"]): r for r in records if r.get("type") == "filled"}
        return cls(intents, filled, records, bad)

    def open_intents(self) -> list[str]:
        done = {str(r.get("client_order_id")) for r in self.records if r.get("type") != "intent"}
        return [cid for cid in self.intents if cid not in done]

    def refusal_windows(self) -> dict[str, list[tuple[int, int]]]:
        """Per variant, market-time spans during which it certainly refused entries: from a
        BUY refused before sending (an outcome with no intent) to the last BUY refused before
        its next BUY sent. (After the last refusal nothing says it still refuses: a daily limit
        may have ended.)"""
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        run: dict[str, tuple[int, int]] = {}  # variant -> (first refusal, last refusal)
        for r in self.records:
            variant, side, at = r.get("variant"), r.get("side"), r.get("time")
            if not isinstance(variant, str) or side != "BUY" or not isinstance(at, int):
                continue
            if r.get("type") == "intent":
                if variant in run:
                    spans[variant].append(run.pop(variant))
            elif r.get("type") == "rejected" and str(r.get("client_order_id")) not in self.intents:
                first = run[variant][0] if variant in run else at
                run[variant] = (first, at)
        for variant, span in run.items():
            spans[variant].append(span)
        return spans


# -- the recomputation -------------------------------------------------------------------------


@dataclass
class Book:
    """One variant's fills on one symbol, as the exchange reports them."""

    held: Decimal = ZERO
    spent: Decimal = ZERO
    received: Decimal = ZERO
    other_fees: Counter[str] = field(default_factory=Counter)
    fills: int = 0
    buy_after_buy: int = 0
    _last_side: str = ""

    def add(self, fill: dict[str, Any], base: str, quote: str) -> None:
        qty, quote_qty = Decimal(fill["qty"]), Decimal(fill["quoteQty"])
        fee, fee_asset = Decimal(fill["commission"]), str(fill["commissionAsset"])
        buy = bool(fill["isBuyer"])
        self.fills += 1
        if buy:
            self.held += qty
            self.spent += quote_qty
        else:
            self.held -= qty
            self.received += quote_qty
        if fee_asset == base:
            self.held -= fee
        elif fee_asset == quote:
            if buy:
                self.spent += fee
            else:
                self.received -= fee
        elif fee:
            self.other_fees[fee_asset] += 1

    def note_order(self, side: str) -> None:
        if side == "BUY" and self._last_side == "BUY":
            self.buy_after_buy += 1
        self._last_side = side

    def mtm(self, last: Decimal, held: Decimal | None = None) -> Decimal:
        return self.received - self.spent + (self.held if held is None else held) * last


def split(symbol: str) -> tuple[str, str]:
    for quote in ("USDT", "FDUSD", "USDC", "BTC", "ETH", "BNB"):
        if symbol.endswith(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(symbol)


@dataclass
class Truth:
    """Per (variant, symbol): the books over the whole run and since the reset, and the
    exchange-side counts the soak reports."""

    whole: dict[tuple[str, str], Book]
    since_reset: dict[tuple[str, str], Book]
    unjournaled_fills: Counter[tuple[str, str]]
    fill_mismatch: Counter[tuple[str, str]]
    duplicate_ids: Counter[tuple[str, str]]
    duplicate_intents: Counter[tuple[str, str]]
    orders: Counter[tuple[str, str]]


def owner(journal: JournalView, cid: str, symbol: str) -> tuple[str, str]:
    intent = journal.intents.get(cid)
    variant = str(intent.get("variant")) if intent else "?"  # "?": an order no intent names
    return variant, symbol


def recompute(snaps: list[Snapshot], journal: JournalView) -> Truth:
    """`snaps`: the exchange before each reset, then at the end (each one starts empty)."""
    whole: dict[tuple[str, str], Book] = defaultdict(Book)
    since: dict[tuple[str, str], Book] = defaultdict(Book)
    unjournaled: Counter[tuple[str, str]] = Counter()
    mismatch: Counter[tuple[str, str]] = Counter()
    dup_ids: Counter[tuple[str, str]] = Counter()
    dup_intents: Counter[tuple[str, str]] = Counter()
    orders: Counter[tuple[str, str]] = Counter()
    seen_ids: set[str] = set()
    seen_intents: set[tuple[Any, ...]] = set()
    for n, snap in enumerate(snaps):
        last_epoch = n == len(snaps) - 1
        for symbol, rows in snap.orders.items():
            base, quote = split(symbol)
            by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for fill in snap.trades.get(symbol, []):
                by_order[int(fill["orderId"])].append(fill)
            for order in sorted(rows, key=lambda o: int(o["orderId"])):
                cid = str(order["clientOrderId"])
                key = owner(journal, cid, symbol)
                orders[key] += 1
                if cid in seen_ids:
                    dup_ids[key] += 1
                seen_ids.add(cid)
                intent = journal.intents.get(cid)
                if intent is not None:
                    ident = tuple(
                        intent.get(k)
                        for k in ("variant", "symbol", "side", "reason", "ref", "signal_time")
                    )
                    if ident in seen_intents and intent.get("reason") != "manual":
                        dup_intents[key] += 1
                    seen_intents.add(ident)
                executed = Decimal(order["executedQty"])
                if executed > 0:
                    rec = journal.filled.get(cid)
                    if rec is None:
                        unjournaled[key] += 1
                    elif Decimal(str(rec.get("executed_qty"))) != executed or Decimal(
                        str(rec.get("quote_qty"))
                    ) != Decimal(order["cummulativeQuoteQty"]):
                        mismatch[key] += 1
                    whole[key].note_order(str(order["side"]))
                for fill in by_order.get(int(order["orderId"]), []):
                    whole[key].add(fill, base, quote)
                    if last_epoch:
                        since[key].add(fill, base, quote)
    return Truth(whole, since, unjournaled, mismatch, dup_ids, dup_intents, orders)


def floor_step(qty: Decimal, step: Decimal) -> Decimal:
    if qty <= 0:
        return ZERO
    return (qty / step).to_integral_value(rounding=ROUND_DOWN) * step
