"""Search over identifiers and reasons, as pure functions."""

from __future__ import annotations

from dashboard import search as search_module
from dashboard.search import build_search_index, clean_query, search

IDENTIFIERS = ["acme-gmbh", None, "Straße-7", "ACME-ltd", "evt_1", "x"]
EXACT = ["Customer with alias 'acme-gmbh' not found", "Event code is required", "Plan 'pro' archived"]
FAILURE_EXACT = [0, 1, 2, 0, 1, 2]


def _search(query: str) -> list[int]:
    index = build_search_index(IDENTIFIERS, EXACT)
    return list(search(index, FAILURE_EXACT, query))


def test_it_finds_identifiers_and_reasons_ignoring_case():
    assert _search("ACME") == [0, 3]
    assert _search("event CODE") == [1, 4]
    assert _search("evt_") == [4]


def test_case_folding_matches_what_people_type():
    assert _search("STRASSE") == [2]


def test_a_blank_query_keeps_everything_and_a_miss_keeps_nothing():
    assert _search("   ") == [0, 1, 2, 3, 4, 5]
    assert _search("nowhere") == []


def test_a_match_never_spans_two_identifiers():
    # "gmbhx" would span the end of one identifier and the start of the next.
    index = build_search_index(["gmbh", "x"], ["a"])
    assert list(search(index, [0, 0], "gmbhx")) == []


def test_blocks_do_not_lose_rows_at_their_edges(monkeypatch):
    monkeypatch.setattr(search_module, "_BLOCK", 2)
    identifiers = [f"id-{n}" for n in range(7)]
    index = build_search_index(identifiers, ["r"])
    assert list(search(index, [0] * 7, "id-")) == list(range(7))
    assert list(search(index, [0] * 7, "id-6")) == [6]


def test_queries_are_cleaned():
    assert clean_query("  Acme\x00 ") == "acme"
