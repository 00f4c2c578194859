"""Template filters for numbers, times and text from user files."""

from __future__ import annotations

from datetime import timedelta

from dashboard.templatetags.dashboard_tags import duration, long_text, visible


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


def test_long_text_is_whole_when_short_and_escaped_either_way():
    assert long_text("<b>'x'</b>", 80) == "&lt;b&gt;&#x27;x&#x27;&lt;/b&gt;"
    assert long_text(None, 80) == ""
    text = "<i>" + "é" * 300 + "\u202e"
    html = long_text(text, 280)
    preview = html[html.index('class="preview">') + 16 : html.index("</span>")]
    assert preview.startswith("&lt;i&gt;") and preview.endswith("…") and "<i>" not in html
    assert "Show all 311 characters" in html
    assert html.count("é") == 300 + 276 and "⟨U+202E⟩" in html and "\u202e" not in html
