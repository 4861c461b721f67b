"""A variant halted and back as notification events (service.notable.halt_events), on tables."""

from __future__ import annotations

from execution.variant_state import State, VariantState
from service.notable import halt_events


def test_halts_and_their_end_are_news_other_changes_are_not() -> None:
    seen: dict[str, tuple[str, str | None]] = {}
    start = [VariantState("A", State.PAUSED, "connecting to the exchange"),
             VariantState("B", State.ACTIVE)]  # fmt: skip
    assert halt_events(seen, start, 1) == []  # the start is not news
    active = [VariantState("A", State.ACTIVE), VariantState("B", State.ACTIVE)]
    assert halt_events(seen, active, 2) == []  # paused -> active: the health event's business
    halted = [VariantState("A", State.ACTIVE),
              VariantState("B", State.HALTED, "daily loss limit 50 USDT reached")]  # fmt: skip
    (event,) = halt_events(seen, halted, 3)
    assert (event.id, event.kind, event.time_ms) == ("variant-B-halted-3", "variant", 3)
    assert event.data["action"] == "halted"
    assert event.data["reason"] == "daily loss limit 50 USDT reached"
    assert halt_events(seen, halted, 4) == []  # still halted: said once
    (back,) = halt_events(seen, active, 5)
    assert back.data["action"] == "resumed" and "daily loss limit" in back.data["reason"]
