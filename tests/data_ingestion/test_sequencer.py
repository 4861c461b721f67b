"""The sequencer's decisions, without sockets: each case offers ticks, reconnects, REST answers
and window ends, and lists the actions the sequencer answers with (the feed carries them out;
tests/data_ingestion/test_supervisor.py and test_backfill.py run the same over loopback)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from data_ingestion.models import Tick
from data_ingestion.sequencer import (
    Action,
    Deliver,
    FetchFirstSince,
    FetchLatest,
    FetchTrades,
    Hold,
    MarkGap,
    Release,
    Sequencer,
    StartWindow,
)

T0 = 1_700_000_040_000  # a minute boundary
SYMBOL = "BTCUSDT"


def tick(tid: int, ms: int | None = None, count: int = 1) -> Tick:
    """Trade `tid`, one second apart by default (id 100 at T0 + 100 s)."""
    time_ms = T0 + tid * 1000 if ms is None else ms
    return Tick(SYMBOL, tid, Decimal("100"), Decimal("1"), time_ms, False, count=count)


def ticks(first: int, last: int) -> list[Tick]:
    return [tick(i) for i in range(first, last + 1)]


# Inputs of a case. `answer` replies to the sequencer's pending request (the last Fetch* action).
@dataclass(frozen=True)
class Offer:
    tid: int


@dataclass(frozen=True)
class CatchUp:
    pass


@dataclass(frozen=True)
class WindowEnds:
    pass


@dataclass(frozen=True)
class Answer:
    value: Any  # list of ticks (FetchTrades), (id, ms) or None (FetchLatest), id or None


@dataclass(frozen=True)
class Fails:
    why: str = "HTTP 503"


@dataclass(frozen=True)
class Cancel:
    pass


Step = Offer | CatchUp | WindowEnds | Answer | Fails | Cancel


def shown(actions: Sequence[Action]) -> list[str]:
    """Actions as short text: deliver 5 | hold | release | gap a..b filled | window | fetch ..."""
    out: list[str] = []
    for action in actions:
        if isinstance(action, Deliver):
            out.append(f"deliver {action.tick.trade_id}")
        elif isinstance(action, Hold):
            out.append("hold")
        elif isinstance(action, Release):
            out.append("release")
        elif isinstance(action, MarkGap):
            state = "filled" if action.filled else "unfilled"
            out.append(f"gap {action.start_ms - T0}..{action.end_ms - T0} {state}")
        elif isinstance(action, StartWindow):
            out.append("window")
        elif isinstance(action, FetchTrades):
            since = "" if action.since_ms is None else f" since {action.since_ms - T0}"
            out.append(f"fetch {action.first}..{action.upto or 'latest'}{since}")
        elif isinstance(action, FetchLatest):
            out.append("fetch latest")
        else:
            out.append(f"fetch first since {action.since_ms - T0}")
    return out


class Driver:
    """Feeds the steps to a sequencer the way the feed does, and keeps what it answered."""

    def __init__(self, seq: Sequencer) -> None:
        self.seq = seq
        self.request: Any = None
        self.window = 0

    def step(self, step: Step) -> list[str]:
        seq = self.seq
        actions: Sequence[Action]
        if isinstance(step, Offer):
            actions = seq.offer(tick(step.tid))
        elif isinstance(step, CatchUp):
            actions = seq.catch_up()
        elif isinstance(step, WindowEnds):
            actions = seq.window_closed(self.window)
        elif isinstance(step, Cancel):
            actions = seq.cancel()
        elif isinstance(step, Fails):
            actions = seq.fetch_failed(self.request, step.why)
        elif isinstance(self.request, FetchTrades):
            actions = seq.trades_fetched(self.request, step.value)
        elif isinstance(self.request, FetchLatest):
            actions = seq.latest_fetched(self.request, step.value)
        else:
            actions = seq.first_id_fetched(self.request, step.value)
        for action in actions:
            if isinstance(action, FetchTrades | FetchLatest | FetchFirstSince):
                self.request = action
            elif isinstance(action, StartWindow):
                self.window = action.token
        return shown(actions)


def started(last_id: int | None = None, resume_ms: int | None = None, cap: int = 100) -> Driver:
    seq = Sequencer(SYMBOL, lambda: resume_ms, reorder_window_s=0.2, max_backfill_trades=cap)
    if last_id is not None:
        seq.last_id, seq.last_time_ms = last_id, T0 + last_id * 1000
    return Driver(seq)


CASES: list[tuple[str, dict[str, Any], list[tuple[Step, list[str]]]]] = [
    ("in order: each tick delivered at once", {"last_id": 10}, [
        (Offer(11), ["deliver 11"]),
        (Offer(12), ["deliver 12"]),
    ]),
    ("duplicates: an id already delivered is dropped", {"last_id": 10}, [
        (Offer(11), ["deliver 11"]),
        (Offer(11), []),
        (Offer(9), []),
    ]),
    ("reordered: a late frame inside the window closes the gap", {"last_id": 10}, [
        (Offer(12), ["hold", "window"]),
        (Offer(13), []),  # waits behind the gap
        (Offer(11), ["deliver 11", "deliver 12", "deliver 13", "release"]),
        (WindowEnds(), []),  # moot: nothing is fetched
        (Offer(14), ["deliver 14"]),
    ]),
    ("gap: fetched from REST after the window, then the buffer", {"last_id": 10}, [
        (Offer(14), ["hold", "window"]),
        (Offer(15), []),
        (WindowEnds(), ["fetch 11..13 since 10000"]),
        (Offer(16), []),  # arrives during the fetch: waits
        (Answer(ticks(11, 13)), ["gap 11000..13000 filled", "deliver 11", "deliver 12",
                                 "deliver 13", "deliver 14", "deliver 15", "deliver 16",
                                 "release"]),
    ]),
    ("failed backfill: the gap is marked unfilled and the stream goes on", {"last_id": 10}, [
        (Offer(14), ["hold", "window"]),
        (WindowEnds(), ["fetch 11..13 since 10000"]),
        (Fails(), ["gap 10000..14000 unfilled", "deliver 14", "release"]),
        (Offer(12), []),  # a trade given up on arrives after all: too late, dropped
        (Offer(15), ["deliver 15"]),
    ]),
    ("short REST answer: a failure, not a partial fill", {"last_id": 10}, [
        (Offer(14), ["hold", "window"]),
        (WindowEnds(), ["fetch 11..13 since 10000"]),
        (Answer(ticks(11, 12)), ["gap 10000..14000 unfilled", "deliver 14", "release"]),
    ]),
    ("REST answer from the wrong id: a failure", {"last_id": 10}, [
        (Offer(14), ["hold", "window"]),
        (WindowEnds(), ["fetch 11..13 since 10000"]),
        (Answer(ticks(12, 13)), ["gap 10000..14000 unfilled", "deliver 14", "release"]),
    ]),
    ("an aggregate trade f..l fills the ids it stands for", {"last_id": 10}, [
        (Offer(14), ["hold", "window"]),
        (WindowEnds(), ["fetch 11..13 since 10000"]),
        (Answer([tick(13, T0 + 13_000, count=3)]),
         ["gap 13000..13000 filled", "deliver 13", "deliver 14", "release"]),
    ]),
    ("over the cap: given up without asking REST", {"last_id": 10, "cap": 2}, [
        (Offer(14), ["hold", "window"]),
        (WindowEnds(), ["gap 10000..14000 unfilled", "deliver 14", "release"]),
    ]),
    ("two gaps: the second opens its own window after the first fill", {"last_id": 10}, [
        (Offer(12), ["hold", "window"]),
        (Offer(15), []),
        (WindowEnds(), ["fetch 11..11 since 10000"]),
        (Answer(ticks(11, 11)), ["gap 11000..11000 filled", "deliver 11", "deliver 12",
                                 "window"]),
        (WindowEnds(), ["fetch 13..14 since 12000"]),
        (Answer(ticks(13, 14)), ["gap 13000..14000 filled", "deliver 13", "deliver 14",
                                 "deliver 15", "release"]),
    ]),
    ("first trade: what came before it since the minute's start is fetched first", {}, [
        (Offer(105), ["hold", "fetch first since 60000"]),
        (Answer(100), ["fetch 100..104 since 60000"]),
        (Answer(ticks(100, 104)), ["gap 100000..104000 filled", "deliver 100", "deliver 101",
                                   "deliver 102", "deliver 103", "deliver 104", "deliver 105",
                                   "release"]),
    ]),
    ("first trade after the warm-up: fetched from the resume point", {"resume_ms": T0}, [
        (Offer(5), ["hold", "fetch first since 0"]),
        (Answer(5), ["deliver 5", "release"]),  # nothing before it: it is the first
    ]),
    ("first trade, REST down: the minutes since resume are marked incomplete",
     {"resume_ms": T0}, [
        (Offer(5), ["hold", "fetch first since 0"]),
        (Offer(6), []),
        (Fails(), ["gap 0..5000 unfilled", "deliver 5", "deliver 6", "release"]),
    ]),
    ("reconnect: catch up from the last id to the latest", {"last_id": 10}, [
        (CatchUp(), ["hold", "fetch 11..latest since 10000"]),
        (Offer(14), []),
        (Answer(ticks(11, 13)), ["gap 11000..13000 filled", "deliver 11", "deliver 12",
                                 "deliver 13", "deliver 14", "release"]),
    ]),
    ("reconnect, catch-up fails: the stream's next trades open a normal gap", {"last_id": 10}, [
        (CatchUp(), ["hold", "fetch 11..latest since 10000"]),
        (Offer(13), []),
        (Fails(), ["window"]),
        (WindowEnds(), ["fetch 11..12 since 10000"]),
        (Answer(ticks(11, 12)), ["gap 11000..12000 filled", "deliver 11", "deliver 12",
                                 "deliver 13", "release"]),
    ]),
    ("start, quiet symbol: nothing traded since the warm-up", {"resume_ms": T0 + 60_000}, [
        (CatchUp(), ["hold", "fetch latest"]),
        (Answer((7, T0 + 7_000)), ["release"]),
        (Offer(8), ["deliver 8"]),
    ]),
    ("start: the trades since the warm-up are fetched before the stream's", {"resume_ms": T0}, [
        (CatchUp(), ["hold", "fetch latest"]),
        (Answer((9, T0 + 9_000)), ["fetch first since 0"]),
        (Answer(3), ["fetch 3..latest since 0"]),
        (Offer(10), []),
        (Answer(ticks(3, 9)), ["gap 3000..9000 filled"] + [f"deliver {i}" for i in range(3, 11)]
         + ["release"]),
    ]),
    ("start, REST down: the first stream trade tries again", {"resume_ms": T0}, [
        (CatchUp(), ["hold", "fetch latest"]),
        (Offer(10), []),
        (Fails(), ["fetch first since 0"]),
        (Answer(10), ["deliver 10", "release"]),
    ]),
    ("removed while fetching: let go, and the late answer is ignored", {"last_id": 10}, [
        (Offer(14), ["hold", "window"]),
        (WindowEnds(), ["fetch 11..13 since 10000"]),
        (Cancel(), ["release"]),
        (Answer(ticks(11, 13)), []),
    ]),
    ("a reconnect while a gap is open changes nothing", {"last_id": 10}, [
        (Offer(12), ["hold", "window"]),
        (CatchUp(), []),
        (Offer(11), ["deliver 11", "deliver 12", "release"]),
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "start", "steps"), CASES, ids=[c[0] for c in CASES])
def test_sequencer_decides(
    name: str, start: dict[str, Any], steps: list[tuple[Step, list[str]]]
) -> None:
    driver = started(**start)
    for n, (step, expected) in enumerate(steps):
        assert driver.step(step) == expected, f"{name}: step {n} {step}"


def test_counters_tell_what_happened() -> None:
    driver = started(last_id=10)
    for step in (Offer(11), Offer(11), Offer(13), Offer(12), Offer(16), WindowEnds(), Fails()):
        driver.step(step)
    stats = driver.seq.stats
    assert (stats.duplicates, stats.gaps, stats.reordered) == (1, 2, 1)
    assert (stats.unfilled_gaps, stats.backfilled_trades) == (1, 0)
    assert not driver.seq.busy and driver.seq.last_id == 16


def test_busy_and_backfilling_follow_the_gap() -> None:
    driver = started(last_id=10)
    driver.step(Offer(14))
    assert driver.seq.busy and not driver.seq.backfilling  # in the reorder window
    driver.step(WindowEnds())
    assert driver.seq.busy and driver.seq.backfilling  # asking REST
    driver.step(Answer(ticks(11, 13)))
    assert not driver.seq.busy and not driver.seq.backfilling
