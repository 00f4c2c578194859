"""The one rule for showing user text: every place that shows it draws a character alike."""

from __future__ import annotations

import pytest

from dashboard.failures.highlight import highlighted
from dashboard.failures.reasons import pattern_of
from dashboard.failures.text import visible
from dashboard.templatetags.dashboard_tags import visible as visible_filter

DRAWN_CHARACTERS = [
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",  # a C1 control (next line)
    "\u061c",  # Arabic letter mark
    "\u200b",  # zero-width space
    "\u200e",  # left-to-right mark
    "\u2028",  # line separator
    "\u202e",  # right-to-left override
    "\u2066",  # left-to-right isolate
    "\ufeff",  # byte order mark
]


@pytest.mark.parametrize("char", DRAWN_CHARACTERS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_character_nobody_sees_is_drawn_alike_in_a_cell_its_pattern_and_a_search_mark(char):
    reason = f"Plan {char}gold is unknown"
    drawn = visible(char)
    assert drawn != char and drawn
    assert visible_filter(reason) == f"Plan {drawn}gold is unknown"
    assert drawn in pattern_of(reason).text
    assert drawn in str(highlighted(reason, "gold", 200)).replace("&#x27;", "'")


def test_whitespace_is_left_to_html_in_a_cell_and_is_a_space_in_a_pattern():
    assert visible("a\tb\nc\rd") == "a\tb\nc\rd"
    assert pattern_of("Plan\t'gold'\nunknown").text == pattern_of("Plan 'gold' unknown").text
