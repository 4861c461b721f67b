"""The JSON-lines journal format: the ledger's import and export, and a backtest's output.

One entry per line (`execution.codec`): an order's `intent` and then its outcome (`filled`,
`rejected`, `abandoned`, `open`, `canceled`) keyed by `client_order_id`, signal notes, exchange
resets and variant controls. The service keeps its ledger in a database (`storage`); `python
main.py journal export` writes it in this format and `journal import` (or an existing
`JOURNAL_PATH` at the first start) reads it back. A torn last line (a crash mid-write of an
older service's journal) is reported and skipped; any other unreadable line is an error
(`JournalCorruptError`): silently dropping a fill from the middle would rebuild wrong
positions. A line of the wrong shape is `JournalFormatError` naming the file and line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson

from core.errors import FatalError
from execution.codec import REPAIR, Entry, JournalFormatError, decode, encode

log = logging.getLogger(__name__)


class JournalCorruptError(FatalError):
    """A line in the middle of the journal cannot be read: needs a human."""


def journal_line(entry: Entry) -> bytes:
    """One entry as its journal line (JSON and a newline)."""
    return orjson.dumps(encode(entry)) + b"\n"


def write_lines(path: Path, entries: list[Entry]) -> None:
    """Write `entries` as a new journal at `path` (blocking: run it off the event loop)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(journal_line(e) for e in entries))


def journal_problem(path: Path) -> str | None:
    """Why `path` cannot be the journal (a folder, an unwritable place), or None. Blocking:
    called once at start, before the event loop."""
    if path.is_dir():
        return f"{path} is a folder, not a file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):
            pass
    except OSError as exc:
        return f"{path} cannot be written: {exc.strerror or exc}"
    return None


def read_journal(path: Path) -> tuple[list[Entry], list[int]]:
    """Entries in order, and the line numbers skipped as torn (blocking). Raises
    `FileNotFoundError`, `JournalCorruptError` or `JournalFormatError` (naming the line)."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    parsed: list[tuple[int, dict[str, Any] | None]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue  # a blank line holds nothing: not corruption
        try:
            rec = orjson.loads(raw)
        except orjson.JSONDecodeError:
            rec = None
        parsed.append((number, rec if isinstance(rec, dict) else None))
    repaired = {
        rec.get("skipped_line")
        for _, rec in parsed
        if rec is not None and rec.get("type") == REPAIR
    }
    records: list[Entry] = []
    torn: list[int] = []
    for index, (number, rec) in enumerate(parsed):
        if rec is None:
            if number in repaired or index == len(parsed) - 1:
                torn.append(number)  # a crash mid-write (sealed by a `repair` line, or last)
                continue
            raise JournalCorruptError(f"{path}: line {number} is not a JSON object")
        try:
            entry = decode(rec)
        except JournalFormatError as exc:
            raise JournalFormatError(f"{path}: line {number}: {exc}") from None
        if entry is not None:
            records.append(entry)
    return records, torn
