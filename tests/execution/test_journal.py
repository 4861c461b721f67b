"""The journal's JSON-lines format (import and export): every entry survives its line; torn
last lines and blank lines are skipped; corruption and wrong shapes are named."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from execution.codec import Entry, ExchangeReset, JournalFormatError, SignalNote, decode, encode
from execution.journal import JournalCorruptError, journal_problem, read_journal
from strategy.models import Side, SignalRaised, SignalReason, Strength
from tests.execution.conftest import T0, order_record


def test_a_torn_last_line_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    """A crash mid-write tears the last line; a blank line holds nothing: neither is
    corruption. A torn line sealed by a `repair` line stays skipped in the middle."""
    path = tmp_path / "trades.jsonl"
    good = orjson.dumps(encode(order_record("c1")))
    path.write_bytes(good + b"\n\n" + b'{"type":"filled","client_order_id":"c1","vari')
    entries, torn = read_journal(path)
    assert torn == [3] and len(entries) == 1
    repair = orjson.dumps({"type": "repair", "skipped_line": 3})
    path.write_bytes(path.read_bytes() + b"\n" + repair + b"\n" + good + b"\n")
    entries, torn = read_journal(path)
    assert torn == [3] and len(entries) == 2


def test_unreadable_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    line = orjson.dumps(encode(order_record("c1")))
    path.write_bytes(line + b"\nnot json\n" + line + b"\n")
    with pytest.raises(JournalCorruptError, match="line 2"):
        read_journal(path)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"side": None}, "bad value"),
        ({"quantity": "lots"}, "bad value"),
        ({"type": "teleported"}, "unknown type"),
        ({"variant": "<drop>"}, "without 'variant'"),
        ({"quantity": "NaN"}, "not finite"),
    ],
)
def test_a_wrong_shaped_line_is_named_with_its_line_number(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    path = tmp_path / "trades.jsonl"
    good = encode(order_record("c1"))
    bad = {**good, **change}
    bad = {k: v for k, v in bad.items() if v != "<drop>"}
    path.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    with pytest.raises(JournalFormatError, match=rf"trades.jsonl: line 2: .*{named}"):
        read_journal(path)


def test_every_entry_survives_its_line_format() -> None:
    signal = SignalRaised(
        "B", "ETHUSDT", Side.SELL, SignalReason.SIGNAL, Decimal("3000.5"), T0, T0,
        Strength.STRONG, 1.5, 2.5, "close",
    )  # fmt: skip
    entries: list[Entry] = [
        order_record("c1"),
        order_record("c1", "filled", fill_time=T0 + 5),
        SignalNote(signal),
        ExchangeReset(T0, "balances back to defaults"),
    ]
    assert [decode(orjson.loads(orjson.dumps(encode(e)))) for e in entries] == entries


def test_a_signals_indicator_values_survive_and_not_ready_ones_are_null() -> None:
    signal = SignalRaised(
        "A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal("60000"), T0, T0,
        Strength.MODERATE, action="open",
        indicators={"macd": -1.25, "signal": -2.5, "histogram": math.nan, "upper": math.inf},
    )  # fmt: skip
    line = orjson.loads(orjson.dumps(encode(SignalNote(signal))))
    assert line["indicators"] == {"macd": -1.25, "signal": -2.5, "histogram": None, "upper": None}
    back = decode(line)
    assert isinstance(back, SignalNote) and back.signal.indicators is not None
    values = back.signal.indicators
    assert values["macd"] == -1.25 and values["signal"] == -2.5
    assert math.isnan(values["histogram"]) and math.isnan(values["upper"])  # not ready either way


def test_a_signal_line_written_before_indicators_were_journaled_still_loads() -> None:
    signal = SignalRaised(
        "A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal("60000"), T0, T0,
        ema=1.0, sma=2.0, action="open", indicators={"rsi": 25.0},
    )  # fmt: skip
    old = {k: v for k, v in encode(SignalNote(signal)).items() if k != "indicators"}
    back = decode(old)
    assert isinstance(back, SignalNote) and back.signal.indicators is None
    assert back.signal.ema == 1.0 and back.signal.action == "open"


@pytest.mark.parametrize("bad", [[1.0], {"rsi": "low"}, {"rsi": True}])
def test_a_signal_line_with_bad_indicators_is_named(bad: object) -> None:
    signal = SignalRaised(
        "A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal("60000"), T0, T0
    )  # fmt: skip
    line = {**encode(SignalNote(signal)), "indicators": bad}
    with pytest.raises(JournalFormatError, match="signal with a bad value: indicators"):
        decode(line)


def test_decimals_are_written_in_plain_notation() -> None:
    rec = order_record("c1", "filled")
    from dataclasses import replace

    line = encode(replace(rec, quantity=Decimal("1E+17"), commission=Decimal("1E-10")))
    assert line["quantity"] == "100000000000000000" and line["commission"] == "0.0000000001"


def test_an_unusable_journal_path_is_named(tmp_path: Path) -> None:
    assert journal_problem(tmp_path / "ok" / "trades.jsonl") is None
    assert "is a folder" in str(journal_problem(tmp_path))
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        problem = journal_problem(locked / "trades.jsonl")
        import os

        if os.geteuid() != 0:  # root writes anywhere; a file in the way works for everyone
            assert problem is not None and "cannot be written" in problem
    finally:
        locked.chmod(0o700)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert "cannot be written" in str(journal_problem(blocker / "trades.jsonl"))
