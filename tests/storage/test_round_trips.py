"""Round trips paged from the ledger's indexes are the trips the one pairing
(execution.performance.round_trips) finds in the fills, cut at each exchange reset."""

from __future__ import annotations

from execution.codec import ExchangeReset
from execution.ledger import Filters
from execution.models import OrderRecord
from execution.performance import RoundTrip, fee_in_quote, round_trips
from tests.execution.test_trading_state import history, lot
from tests.ledgers import started_ledger

FEE = fee_in_quote(lambda symbol: lot(symbol)[0])
ENTRIES = history(5, steps=500)


def expected(variant: str | None = None) -> list[tuple[str, str, RoundTrip]]:
    """Every closed trip, segment by segment (a reset starts a new one), by exit."""
    out: list[tuple[str, str, RoundTrip]] = []
    segment: list[OrderRecord] = []
    for entry in [*ENTRIES, ExchangeReset(0, "end")]:
        if isinstance(entry, ExchangeReset):
            trips = round_trips(segment, FEE)
            out += [(v, s, t) for (v, s), ts in trips.closed.items() for t in ts]
            segment = []
        elif isinstance(entry, OrderRecord) and variant in (None, entry.variant):
            segment.append(entry)
    order = {e.client_order_id: i for i, e in enumerate(ENTRIES) if isinstance(e, OrderRecord)}
    return sorted(out, key=lambda row: order[row[2].exit_order_id])


async def test_pages_of_round_trips_are_the_pairing_of_the_fills(ledger_url: str) -> None:
    ledger = await started_ledger(ledger_url)
    for entry in ENTRIES:
        ledger.append_nowait(entry)
    for variant in (None, "B"):
        got: list[tuple[str, str, RoundTrip]] = []
        cursor = None
        pages = 0
        while True:
            page = await ledger.round_trips_page(Filters(variant=variant), 7, cursor, FEE)
            got = page.rows + got
            pages += 1
            if page.next is None:
                break
            assert len(page.rows) == 7
            cursor = page.next
        want = expected(variant)
        assert len(want) > 20 and pages == -(-len(want) // 7)
        assert got == want
    newest = await ledger.round_trips_page(Filters(symbol="ETHUSDT"), 3, None, FEE)
    assert newest.rows == [r for r in expected() if r[1] == "ETHUSDT"][-3:]
    await ledger.stop()
