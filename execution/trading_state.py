"""The trading state: what the ledger's history decides, folded entry by entry (`apply`).

One fold, used three ways:
- the start restores the newest checkpoint and folds the entries after it (only the tail: the
  start does not grow with history);
- the ledger's checkpointer folds committed entries into the next checkpoint, off the event
  loop (storage.checkpoints);
- a test folds a whole ledger from nothing and compares.

It holds positions (the book), each variant's money (execution.accounts: marks, peaks, curves),
the risk counters of the last two days, the stops (execution.stops.StopMemory), the people's
controls, round-trip figures (execution.performance.TripFigures), the open intents, the newest
fill, the last manual ref and the recent client order ids. None of it grows with history: the
ids are the newest `RECENT_IDS` (a deterministic id is only ever made again for a decision of
the last minutes: the candle or trade it names), the curves are thinned (accounts.MAX_POINTS).

The live objects (the executor's book, risk and accounts, the stops, the controls, the
performance) are loaded from it once at start and then change by themselves, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from execution.accounts import MAX_POINTS, Accounts
from execution.codec import CandleNote, ExchangeReset, VariantControl, decode, encode
from execution.ledger import OUTCOMES
from execution.models import OrderRecord, OrderStatus
from execution.performance import RecentIds, TripFigures, fee_in_quote
from execution.positions import PositionBook
from execution.risk import DailyCounts
from execution.stops import StopMemory
from strategy.models import SignalReason

FORMAT = 1  # of a checkpoint's body: another version is not read (the start folds it all)
RECENT_IDS = 50_000
Lot = Callable[[str], tuple[str, str, Decimal | None]]  # base asset, quote asset, LOT_SIZE step


class TradingState:
    """Everything the start needs from the ledger, as of entry `seq` (see the module)."""

    def __init__(
        self, variants: list[str], capital: Decimal, lot: Lot, max_points: int | None = MAX_POINTS
    ) -> None:
        self._lot = lot
        self.variants = list(variants)
        self.capital = capital
        self.max_points = max_points
        self.seq = 0  # the last entry folded in
        self.entries = 0  # how many entries were folded by this object (not restored)
        self.book = PositionBook()
        self.accounts = Accounts(variants, capital, self.book, max_points)
        self.daily = DailyCounts()
        self.stops = StopMemory()
        self.trips = TripFigures(fee_in_quote(lambda symbol: lot(symbol)[0]))
        self.controls: dict[tuple[str, str], VariantControl] = {}  # (variant, kind) -> newest
        self.open_intents: dict[str, OrderRecord] = {}
        self.newest_fill: OrderRecord | None = None
        self.last_manual_ref = 0
        self.ids = RecentIds(RECENT_IDS)
        # Equity curve points marked by this fold, (variant, time ms, equity, seq): the
        # history pages' rows (storage.checkpoints stores them); not part of the snapshot.
        self.points: list[tuple[str, int, Decimal, int]] = []
        self.accounts.on_point = self._point

    def _point(self, variant: str, time_ms: int, equity: Decimal) -> None:
        self.points.append((variant, time_ms, equity, self.seq))

    @property
    def fingerprint(self) -> str:
        """What a checkpoint's figures depend on besides the entries: a checkpoint made with
        other variants, capital or curve length is not used (the start folds from the first
        entry instead, and writes a new one)."""
        key = f"{FORMAT}|{','.join(self.variants)}|{self.capital}|{self.max_points}"
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    # -- the fold -------------------------------------------------------------------------------

    def apply(self, seq: int, entry: Any) -> None:
        """Fold entry number `seq` in (entries come in ledger order)."""
        self.seq = seq
        self.entries += 1
        if isinstance(entry, CandleNote):
            c = entry.candle
            if c.complete:
                self.accounts.on_close(c.symbol, c.close_time, c.close)
        elif isinstance(entry, OrderRecord):
            self._order(entry)
        elif isinstance(entry, ExchangeReset):
            for pos in self.book.all():
                self.book.clear(pos.variant, pos.symbol)
            self.accounts.on_reset()
            self.stops.live.clear()
            self.trips.reset()
            self.newest_fill = None  # the wiped exchange knows none of the fills before
        elif isinstance(entry, VariantControl):
            kind = "configure" if entry.action == "configure" else "pause"
            old = self.controls.get((entry.variant, kind))
            if old is not None and kind == "configure":  # the newest of each, merged
                entry = VariantControl(
                    entry.time_ms, entry.variant, "configure",
                    stop_loss=entry.stop_loss if entry.stop_loss is not None else old.stop_loss,
                    parameters=entry.parameters or old.parameters,
                )  # fmt: skip
            self.controls[(entry.variant, kind)] = entry

    def _order(self, rec: OrderRecord) -> None:
        cid = rec.client_order_id
        self.ids.add(cid)
        self.stops.apply(rec)
        if rec.status is OrderStatus.INTENT:
            self.open_intents[cid] = rec
            if rec.order_type == "MARKET":
                self.daily.record_order(rec.variant, rec.time_ms)
                if rec.reason is SignalReason.MANUAL:
                    self.last_manual_ref = max(self.last_manual_ref, rec.ref)
            return
        if rec.status in OUTCOMES:
            self.open_intents.pop(cid, None)
        if rec.filled:
            self.newest_fill = rec
            base, quote, step = self._lot(rec.symbol)
            _, pnl = self.book.apply(rec, base, quote, step)
            if pnl is not None:
                self.daily.record_pnl(rec.variant, pnl, rec.fill_time_ms or rec.time_ms)
            self.accounts.on_fill(rec)
            if rec.variant in self.variants:
                self.trips.on_fill(rec)

    # -- the checkpoint -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The state as plain JSON (a checkpoint's body)."""
        return {
            "format": FORMAT,
            "seq": self.seq,
            "book": self.book.snapshot(),
            "accounts": self.accounts.snapshot(),
            "daily": self.daily.snapshot(),
            "stops": self.stops.snapshot(),
            "trips": self.trips.snapshot(),
            "controls": [encode(c) for c in self.controls.values()],
            "open_intents": [encode(r) for r in self.open_intents.values()],
            "newest_fill": None if self.newest_fill is None else encode(self.newest_fill),
            "last_manual_ref": self.last_manual_ref,
            "ids": self.ids.snapshot(),
        }

    def restore(self, obj: dict[str, Any]) -> None:
        """The state of a `snapshot` (ValueError: another format)."""
        if obj.get("format") != FORMAT:
            raise ValueError(f"checkpoint format {obj.get('format')!r}, not {FORMAT}")
        self.seq = int(obj["seq"])
        self.book.restore(obj["book"])
        self.accounts.restore(obj["accounts"])
        self.daily.restore(obj["daily"])
        self.stops.restore(obj["stops"])
        self.trips.restore(obj["trips"])
        self.controls = {}
        for raw in obj["controls"]:
            control = decode(raw)
            assert isinstance(control, VariantControl)
            kind = "configure" if control.action == "configure" else "pause"
            self.controls[(control.variant, kind)] = control
        self.open_intents = {}
        for raw in obj["open_intents"]:
            rec = decode(raw)
            assert isinstance(rec, OrderRecord)
            self.open_intents[rec.client_order_id] = rec
        newest = obj["newest_fill"]
        self.newest_fill = None if newest is None else _order(newest)
        self.last_manual_ref = int(obj["last_manual_ref"])
        self.ids = RecentIds(RECENT_IDS, obj["ids"])

    def control_entries(self) -> list[VariantControl]:
        """The controls to apply at start, oldest first (the newest configure and the newest
        pause or resume of each variant: applying them gives what every control gave)."""
        return sorted(self.controls.values(), key=lambda c: c.time_ms)


def _order(raw: dict[str, Any]) -> OrderRecord:
    rec = decode(raw)
    assert isinstance(rec, OrderRecord)
    return rec
