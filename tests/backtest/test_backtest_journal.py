"""A backtest's journal: kept in memory, and the same lines in the file when one is asked for."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import orjson

from aggregation.models import Candle
from backtest.run import BacktestConfig
from backtest.runner import candle_stream, run_streams
from config import load_settings
from execution.codec import decode
from execution.models import OrderRecord

T0 = 1_704_067_200_000


def wave(n: int) -> list[Candle]:
    out = []
    for i in range(n):
        close = Decimal(f"{40_000 + 400 * math.sin(i / 7):.2f}")
        out.append(Candle("BTCUSDT", T0 + i * 60_000, close, close, close, close, Decimal(1),
                          close, 1, Decimal(0), Decimal(0)))  # fmt: skip
    return out


async def test_the_file_holds_exactly_the_runs_journal(tmp_path: Path) -> None:
    settings = load_settings(env_file=None)
    candles = wave(600)
    path = tmp_path / "bt.jsonl"
    path.write_text("left over from an earlier run\n")
    config = BacktestConfig([], settings.variant_settings, Decimal("0.001"), journal_path=path)
    with_file = await run_streams(settings, config, [candle_stream(candles)], len(candles))
    config = BacktestConfig([], settings.variant_settings, Decimal("0.001"))
    in_memory = await run_streams(settings, config, [candle_stream(candles)], len(candles))

    written = [decode(orjson.loads(line)) for line in path.read_bytes().splitlines()]
    assert len(written) > 40  # the wave crosses many times: orders were made
    assert written == with_file.journal == in_memory.journal
    assert {rec.status.value for rec in written if isinstance(rec, OrderRecord)} == {
        "intent",
        "filled",
    }
