"""The kinds of notification events and their levels (`NOTIFY_EVENTS`): settings knowledge,
read by config.py and by the outbox (storage/outbox.py)."""

from __future__ import annotations

KINDS = ("fill", "rejected", "variant", "reset", "health", "daily", "optimization")
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


def parse_daily(text: str) -> int:
    """`HH:MM` (UTC) -> minutes past midnight; ValueError naming the format."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit():
        raise ValueError(f"{text!r}: write HH:MM (UTC), e.g. 00:00")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{text!r}: hours 0-23 and minutes 0-59")
    return h * 60 + m
