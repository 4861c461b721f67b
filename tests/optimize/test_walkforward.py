"""Walk-forward windows and efficiency (tables)."""

from __future__ import annotations

import itertools

import pytest

from optimize.walkforward import Bounds, WalkForwardError, efficiency, split


@pytest.mark.parametrize(
    ("count", "windows", "gap", "expected"),
    [
        (700, 4, 0, [Bounds(0, 300, 300, 400), Bounds(100, 400, 400, 500),
                     Bounds(200, 500, 500, 600), Bounds(300, 600, 600, 700)]),
        (703, 4, 20, [Bounds(0, 300, 320, 400), Bounds(100, 400, 420, 500),
                      Bounds(200, 500, 520, 600), Bounds(300, 600, 620, 700)]),
        (400, 1, 10, [Bounds(0, 300, 310, 400)]),
    ],
)  # fmt: skip
def test_windows_roll_by_their_out_of_sample_part(
    count: int, windows: int, gap: int, expected: list[Bounds]
) -> None:
    bounds = split(count, windows, gap)
    assert bounds == expected
    for before, after in itertools.pairwise(bounds):
        assert after.is_end == before.oos_end  # out-of-sample parts follow each other
    assert all(b.is_end <= b.oos_start < b.oos_end <= count for b in bounds)


@pytest.mark.parametrize(
    ("count", "windows", "gap", "words"),
    [
        (300, 4, 0, ["42 candles", "at least 60"]),
        (700, 4, 50, ["50 after the gap of 50"]),
        (700, 0, 0, ["at least 1 window"]),
    ],
)
def test_too_little_data_is_refused(count: int, windows: int, gap: int, words: list[str]) -> None:
    with pytest.raises(WalkForwardError) as caught:
        split(count, windows, gap)
    for word in words:
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("is_ret", "is_min", "oos_ret", "oos_min", "expected"),
    [
        ("3.00", 300, "1.00", 100, 1.0),  # the same pace
        ("3.00", 300, "0.50", 100, 0.5),
        ("3.00", 300, "-1.00", 100, -1.0),
        ("0.00", 300, "1.00", 100, None),  # no in-sample gain: no efficiency
        ("-2.00", 300, "1.00", 100, None),
    ],
)
def test_efficiency(
    is_ret: str, is_min: int, oos_ret: str, oos_min: int, expected: float | None
) -> None:
    got = efficiency({"return_pct": is_ret}, is_min, {"return_pct": oos_ret}, oos_min)
    assert got == (None if expected is None else pytest.approx(expected))
