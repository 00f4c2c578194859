"""Bar geometry for the server-drawn charts."""

from __future__ import annotations

from dashboard.pages.charts import bar_chart, share_bar


def test_the_largest_bar_spans_the_chart_and_the_rest_is_one_bar():
    items = [("a", 60), ("b", 30), ("c", 6), ("d", 4)]
    bars = bar_chart(items, 100, top=2)
    assert [(bar.item, bar.value, bar.width) for bar in bars] == [
        ("a", 60, "100.00"),
        ("b", 30, "50.00"),
        (None, 10, "16.67"),
    ]
    assert bars[0].share_width == "60.00"
    assert bars[2].percent == 10.0


def test_no_rest_bar_when_everything_is_shown():
    assert [bar.item for bar in bar_chart([("a", 2), ("b", 1)], 3)] == ["a", "b"]


def test_nothing_to_draw():
    assert bar_chart([], 0) == []


def test_widths_are_plain_decimals_within_the_box():
    assert share_bar(0.123456) == "12.35"
    assert share_bar(2.0) == "100.00"
    assert share_bar(-1) == "0.00"
