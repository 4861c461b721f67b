"""Hub.wanted() is a count kept up to date by every way a subscriber's kinds change."""

from __future__ import annotations

from core.hub import CANDLE, ORDER, SIGNAL, TICK, Event, Hub


async def test_wanted_follows_assignments_and_unsubscribes() -> None:
    hub = Hub()
    assert not hub.wanted(CANDLE) and not hub.wanted(TICK)
    a = hub.subscribe()
    b = hub.subscribe()
    assert hub.wanted(CANDLE) and not hub.wanted(TICK)
    a.kinds |= {TICK}
    assert hub.wanted(TICK)
    a.kinds -= {TICK, CANDLE}
    assert not hub.wanted(TICK) and hub.wanted(CANDLE)  # b still wants candles
    a.kinds = set()
    b.kinds = {ORDER}
    assert not hub.wanted(CANDLE) and hub.wanted(ORDER)
    b.kinds = (b.kinds - {ORDER}) | {SIGNAL, TICK}
    assert not hub.wanted(ORDER) and hub.wanted(TICK)
    b.set_kinds(set())
    assert not hub.wanted(TICK) and not hub.wanted(SIGNAL)
    b.kinds |= {TICK}
    hub.unsubscribe(b)
    hub.unsubscribe(b)  # twice: no double count
    assert not hub.wanted(TICK)
    b.kinds |= {CANDLE}  # an unsubscribed subscriber no longer counts
    assert not hub.wanted(CANDLE)
    a.kinds |= {CANDLE}
    assert hub.wanted(CANDLE)
    a.kinds -= {CANDLE}
    assert not hub.wanted(CANDLE)


def test_kinds_cannot_change_behind_the_hubs_back() -> None:
    sub = Hub().subscribe()
    assert isinstance(sub.kinds, frozenset)  # no in-place mutation: every change is assigned


async def test_an_overflowed_subscriber_stops_counting_and_nothing_is_built_for_nobody() -> None:
    hub = Hub()
    slow = hub.subscribe(maxsize=1)
    slow.kinds = {TICK}
    hub.publish(Event(TICK, 1))
    hub.publish(Event(TICK, 2))
    assert slow.overflowed.is_set() and not hub.wanted(TICK)
    hub.publish(Event(TICK, 3))  # nobody: returns at once
    assert slow.queue.qsize() == 1
