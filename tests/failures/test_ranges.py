"""Row numbers condensed into ranges."""

from __future__ import annotations

from dashboard.failures.ranges import RowRange, condense, describe


def test_consecutive_rows_become_ranges():
    ranges = condense([5, 6, 7, 8, 9, 10, 11, 12, 40, 97, 98, 99, 130])
    assert ", ".join(map(str, ranges)) == "5-12, 40, 97-99, 130"


def test_repeats_and_single_rows():
    assert condense([]) == []
    assert condense([3]) == [RowRange(3, 3)]
    assert condense([3, 3, 4, 4]) == [RowRange(3, 4)]


def test_a_long_list_is_cut_and_says_how_many_rows_are_left():
    ranges = condense(range(1, 2001, 2))  # 1,000 single rows
    text = describe(ranges, max_chars=40)
    assert not text.complete
    assert text.text.startswith("1, 3, 5")
    assert len(text.text) <= 40
    assert text.rows_left == 1000 - text.shown
    assert str(text).endswith(f"and {text.rows_left:,} more rows")


def test_a_short_list_is_complete():
    text = describe(condense([1, 2, 3, 10]))
    assert text.complete and str(text) == "1-3, 10"


def test_the_first_range_is_always_written():
    text = describe([RowRange(1_000_000, 2_000_000)], max_chars=3)
    assert text.text == "1000000-2000000" and text.complete
