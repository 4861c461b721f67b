"""The journal: durable appends, reading back, torn last lines, corruption."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from execution.journal import Journal, JournalCorruptError


async def test_append_is_on_disk_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "trades.jsonl"
    journal = Journal(path)
    await journal.start()
    await journal.append({"type": "intent", "client_order_id": "c1", "variant": "A"})
    assert orjson.loads(path.read_bytes().splitlines()[0])["client_order_id"] == "c1"
    journal.append_nowait({"type": "filled", "client_order_id": "c1", "symbol": "X",
                           "variant": "A", "fill_time": 5})  # fmt: skip
    await journal.stop()
    assert len(path.read_bytes().splitlines()) == 2
    again = Journal(path)
    await again.start()
    assert [r["type"] for r in again.records()] == ["intent", "filled"]
    assert again.open_intents() == []
    assert again.trades(symbol="X", since=5)[0]["client_order_id"] == "c1"
    assert again.trades(symbol="Y") == [] and again.trades(limit=0) == []
    await again.stop()


async def test_torn_last_line_is_reported_skipped_and_sealed(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    good = orjson.dumps({"type": "intent", "client_order_id": "c1", "variant": "A"})
    path.write_bytes(good + b"\n" + b'{"type":"filled","client_order_id":"c1","vari')
    journal = Journal(path)
    await journal.start()
    assert journal.torn_lines == [2]
    assert [r["client_order_id"] for r in journal.open_intents()] == ["c1"]
    await journal.append({"type": "abandoned", "client_order_id": "c1"})
    await journal.stop()
    # Reading again: the torn line is in the middle now, named by the repair line.
    again = Journal(path)
    await again.start()
    assert again.torn_lines == [2]
    assert [r["type"] for r in again.records()] == ["intent", "abandoned"]
    assert again.open_intents() == []
    await again.stop()
    assert path.read_bytes().startswith(good + b"\n")  # nothing rewritten


async def test_unreadable_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    path.write_bytes(b'{"type":"intent"}\nnot json\n{"type":"intent"}\n')
    with pytest.raises(JournalCorruptError, match="line 2"):
        await Journal(path).start()


async def test_many_concurrent_appends_keep_every_line(tmp_path: Path) -> None:
    import asyncio

    journal = Journal(tmp_path / "j.jsonl")
    await journal.start()
    await asyncio.gather(*(journal.append({"type": "intent", "n": i}) for i in range(300)))
    await journal.stop()
    lines = (tmp_path / "j.jsonl").read_bytes().splitlines()
    assert sorted(orjson.loads(x)["n"] for x in lines) == list(range(300))
