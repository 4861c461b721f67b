"""The reports' pure chart pieces (backtest/chart_page.py, backtest/html_report.py), on tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backtest.chart_page import _rising, bucket_ms, line_style, trade_markers
from backtest.html_report import money, price_digits

MIN = 60_000


def test_markers_are_grouped_per_bucket_and_kind_with_their_count() -> None:
    events = [
        (0, "entry", "A"), (30_000, "entry", "A"), (59_999, "exit", "A"),
        (MIN, "stop", "A"), (5 * MIN + 1, "entry", "A"),
    ]  # fmt: skip
    out = trade_markers(events, MIN, "#123456")
    assert [(m["time"], m["text"], m["shape"], m["color"]) for m in out] == [
        (0, "A ×2", "arrowUp", "#123456"),
        (0, "A", "arrowDown", "#123456"),
        (60, "A", "arrowDown", "#000"),  # a stop-loss exit: black
        (300, "A", "arrowUp", "#123456"),
    ]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (0, 299 * MIN, MIN),
        (0, 300 * MIN, MIN),
        (0, 301 * MIN, 2 * MIN),
        (0, 525_600 * MIN, 1752 * MIN),
    ],
)
def test_marker_buckets_are_whole_minutes_at_most_300_per_chart(
    first: int, last: int, expected: int
) -> None:
    assert bucket_ms(first, last) == expected


def test_lines_rise_in_time_the_last_value_of_a_second_winning() -> None:
    assert _rising([(1_000, 1.0), (1_500, 2.0), (900, 9.0), (3_000, 3.1234567)]) == [
        [1, 2.0],
        [3, 3.123457],
    ]


def test_the_first_line_is_solid_and_wide_the_others_dashed() -> None:
    assert [line_style(n)[1:] for n in range(3)] == [(False, 3), (True, 2), (True, 2)]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("-60.15567874689039585762525187", "-60.16"),
        (Decimal("1234.5"), "1,234.50"),
        ("0", "0.00"),
        ("0.00012345678", "0.00012346"),
        ("NaN", "n/a"),
        ("x<y", "x&lt;y"),
    ],
)
def test_money_is_rounded_for_people(value: object, text: str) -> None:
    assert money(value) == text


@pytest.mark.parametrize(("price", "digits"), [(65000.0, 2), (1.0, 2), (0.6, 4), (0.04612, 5)])
def test_price_digits_show_the_moves(price: float, digits: int) -> None:
    assert price_digits(price) == digits
