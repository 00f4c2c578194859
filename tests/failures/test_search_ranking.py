"""Search that says what it matched: exact identifiers first, in words, and marked."""

from __future__ import annotations

import html as htmllib
import re

from dashboard.failures.highlight import highlighted, hit_spans
from dashboard.failures.search import match_note
from dashboard.index.reading import Ranked


def _ranked(exact: int, in_identifier: int, reason_only: int) -> Ranked:
    """A search's matches as counted: exact identifiers, others holding it, the rest by reason
    (the order itself is tested over an index, in tests/index/test_reading.py)."""
    return Ranked([0] * (exact + in_identifier + reason_only), exact, in_identifier)


def test_the_note_says_whether_a_row_has_exactly_this_identifier():
    only_contains = _ranked(0, 1, 0)
    assert match_note(only_contains) == "No row has exactly this identifier; 1 contains it."
    both = _ranked(1, 1, 0)
    assert (
        match_note(both)
        == "1 row has exactly this identifier (first, marked “exact match”); then 1 more contains it."
    )
    assert match_note(_ranked(1, 0, 0)) == "1 row has exactly this identifier."
    by_reason = _ranked(0, 0, 2)  # these rows matched by their reason
    assert match_note(by_reason) == "No row has exactly this identifier; 2 rows have it in the reason."
    mixed = _ranked(0, 1, 2)
    assert (
        match_note(mixed)
        == "No row has exactly this identifier; 1 contains it and 2 rows have it in the reason."
    )


def test_spans_are_on_the_texts_own_characters_whatever_folding_does():
    assert hit_spans("Acme ACME acme", "acme") == [(0, 4), (5, 9), (10, 14)]
    assert hit_spans("Straße 5", "strasse") == [(0, 6)]  # ß folds to ss: one character, two folded
    assert hit_spans("Grüße aus Straße", "ss") == [(3, 4), (14, 15)]
    assert hit_spans("aaaa", "aa") == [(0, 4)]  # matches that touch are one mark
    assert hit_spans("nothing", "zz") == []


def test_marks_compose_with_escaping_and_visible_controls():
    hostile = "<script>alert('x')</script> invoice-\u202egpj.exe"
    out = str(highlighted(hostile, "script", 280))
    assert "<script>" not in out and "&lt;" in out
    assert out.count('<mark class="hit">script</mark>') == 2
    assert "\u202e" not in out and "⟨U+202E⟩" in out
    # A search for the markup itself marks the escaped text, never opens a tag.
    tag = str(highlighted(hostile, "<script>", 280))
    assert '<mark class="hit">&lt;script&gt;</mark>' in tag
    # A control inside a match is drawn inside the mark.
    assert '<mark class="hit">a⟨U+202E⟩g</mark>' in str(highlighted("xa\u202egx", "a\u202eg", 80))
    # Without the marks, the text is what `long_text` shows.
    plain = re.sub(r"</?mark[^>]*>", "", out)
    assert htmllib.unescape(plain) == hostile.replace("\u202e", "⟨U+202E⟩")


def test_long_text_keeps_its_preview_and_says_when_the_match_is_further_on():
    text = "x" * 500 + " needle"
    out = str(highlighted(text, "needle", 280))
    assert "Show all 507 characters (the match is further on)" in out
    assert '<div class="whole">' + "x" * 500 + ' <mark class="hit">needle</mark></div>' in out
    early = str(highlighted("needle " + "x" * 500, "needle", 280))
    assert '<span class="preview"><mark class="hit">needle</mark>' in early
    assert "further on" not in early
