"""Search as typed and as compared: folded text (the index keeps its text folded the same
way; searches over it are tested in tests/index/test_reading.py)."""

from __future__ import annotations

from dashboard.failures.search import clean_query, fold


def test_case_folding_matches_what_people_type():
    assert fold("Straße-7") == fold("STRASSE-7") == "strasse-7"
    assert clean_query("STRASSE") in fold("Customer with alias 'Straße' not found")


def test_queries_are_cleaned():
    assert clean_query("  Acme\x00 ") == "acme"
    assert clean_query("   ") == ""
