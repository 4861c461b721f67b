"""The journal's group commit: the appends of one loop turn share one durable write."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from execution import journal as journal_module
from execution.journal import Journal
from strategy.models import Side, SignalRaised, SignalReason
from tests.execution.conftest import T0, order_record


def signal(side: Side, ref: int, variant: str = "A") -> SignalRaised:
    action = "open" if side is Side.BUY else "close"
    return SignalRaised(
        variant, "BTCUSDT", side, SignalReason.SIGNAL, Decimal("60000"), T0 + ref, ref,
        action=action,
    )  # fmt: skip


async def test_appends_of_one_loop_turn_share_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal(path)
    await journal.start()
    syncs: list[int] = []
    real = journal_module._write_all

    def counted(fd: int, data: bytes) -> None:
        syncs.append(fd)
        real(fd, data)

    monkeypatch.setattr(journal_module, "_write_all", counted)
    await asyncio.gather(*(journal.append(order_record(f"c{i}")) for i in range(20)))
    assert len(syncs) == 1  # 20 concurrent appends, one durable write
    assert [orjson.loads(x)["client_order_id"] for x in path.read_bytes().splitlines()] == [
        f"c{i}" for i in range(20)
    ]
    await journal.append(order_record("c20"))
    assert len(syncs) == 2 and len(path.read_bytes().splitlines()) == 21
    await journal.stop()
