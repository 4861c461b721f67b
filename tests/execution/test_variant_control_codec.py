"""The journal's `control` line: a person's command to a variant, back as it was written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from execution.codec import JournalFormatError, VariantControl, decode, encode


def test_a_control_comes_back_as_written() -> None:
    control = VariantControl(
        5, "B", "configure", stop_loss=Decimal("0.05"),
        parameters=(("ema_period", 3), ("k", 1.5)),
    )  # fmt: skip
    line = encode(control)
    assert line["type"] == "control" and line["stop_loss"] == "0.05"
    assert decode(line) == control
    assert decode(encode(VariantControl(6, "A", "pause", "why"))) == VariantControl(
        6, "A", "pause", "why"
    )


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ({"type": "control", "time": 1, "variant": "A", "action": "explode"}, "explode"),
        ({"type": "control", "time": 1, "action": "pause"}, "'variant'"),
        (
            {
                "type": "control",
                "time": 1,
                "variant": "A",
                "action": "configure",
                "parameters": {"k": "x"},
            },
            "parameters",
        ),
    ],
)
def test_a_wrong_control_line_is_named(line: dict[str, object], why: str) -> None:
    with pytest.raises(JournalFormatError, match=why):
        decode(line)
