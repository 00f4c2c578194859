"""Template filters for numbers, times and text from user files."""

from __future__ import annotations

from datetime import timedelta

from dashboard.templatetags.dashboard_tags import duration, visible


def test_durations_read_as_people_say_them():
    assert duration(timedelta(seconds=45)) == "45 s"
    assert duration(timedelta(seconds=200)) == "3 min 20 s"
    assert duration(timedelta(hours=2, minutes=5, seconds=9)) == "2 h 5 min"
    assert duration(timedelta(days=3, hours=4)) == "3 d 4 h"
    assert duration(None) == ""


def test_bidirectional_controls_are_written_out():
    assert visible("invoice-\u202egpj.exe") == "invoice-⟨U+202E⟩gpj.exe"
    assert visible("\u2066a\u2069 \u200fb") == "⟨U+2066⟩a⟨U+2069⟩ ⟨U+200F⟩b"
    assert visible("nul\x00") == "nul␀"


def test_other_text_is_left_as_it_is():
    text = "Café 🧾💥 Z̵̡a̴l̷g̶o̸ ñ, עברית, العربية, <b>, tab\there\r\n"
    assert visible(text) == text
    assert visible(None) == ""
