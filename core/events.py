"""The kinds of notification events and their levels (`NOTIFY_EVENTS`): settings knowledge,
read by config.py and by the outbox (storage/outbox.py)."""

from __future__ import annotations

KINDS = ("fill", "rejected", "variant", "reset")
LEVELS = ("on", "silent", "off")


def parse_levels(text: str) -> dict[str, str]:
    """`fill=on,rejected=silent,reset=off` (kinds not named are on); ValueError naming what is
    wrong."""
    levels = dict.fromkeys(KINDS, "on")
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        kind, sep, level = (x.strip() for x in part.partition("="))
        if not sep or kind not in KINDS or level not in LEVELS:
            raise ValueError(
                f"{part!r}: write KIND=LEVEL with KIND one of {', '.join(KINDS)} and LEVEL one"
                f" of {', '.join(LEVELS)}"
            )
        levels[kind] = level
    return levels
