"""The failures table's rows, as a pure function of one page of failures and the view."""

from __future__ import annotations

from dashboard.failures.reasons import group_key
from dashboard.meteroid.records import Failure
from dashboard.pages.failure_table import failure_rows

NOT_FOUND = "Customer with alias 'acme' not found"
BAD_EMAIL = "Failed to convert to domain: billing_email is not a valid email"


def _failure(index: int, chunk: str, reason: str = NOT_FOUND, identifier: str | None = "acme") -> Failure:
    return Failure(
        id=f"f{index}", chunk_id=chunk, item_index=index, item_identifier=identifier, reason=reason
    )


def test_a_run_of_rows_from_one_chunk_shows_the_chunk_once():
    chunks = ["bjch_a", "bjch_a", "bjch_b", "bjch_a", "bjch_a", "bjch_a"]
    rows = failure_rows([_failure(i, c) for i, c in enumerate(chunks)], row_query="", per_page=25)
    assert [r.chunk_span for r in rows] == [2, 0, 1, 3, 0, 0]
    assert [r.chunk_id for r in rows] == chunks
    assert failure_rows([], row_query="", per_page=25) == []


def test_rows_link_to_themselves_under_the_views_filters_without_thousands_separators():
    (row,) = failure_rows([_failure(6500, "bjch_a")], row_query="chunk=bjch_a&q=acme", per_page=25)
    assert (row.number, row.number_text, row.anchor) == (6501, "6,501", "row-6501")
    assert row.link == "?chunk=bjch_a&q=acme&row=6501#row-6501"
    (bare,) = failure_rows([_failure(0, "bjch_a")], row_query="", per_page=25)
    assert bare.link == "?row=1#row-1"


def test_rows_link_to_their_group_and_chunk_keeping_a_chosen_page_size():
    rows = failure_rows([_failure(0, "bjch_a"), _failure(1, "bjch_a", BAD_EMAIL)], row_query="", per_page=50)
    assert rows[0].similar == f"?reason={group_key(NOT_FOUND)}&per_page=50"
    assert rows[0].chunk_link == "?chunk=bjch_a&per_page=50"
    default = failure_rows([_failure(0, "bjch_a")], row_query="", per_page=25)[0]
    assert (default.similar, default.chunk_link) == (f"?reason={group_key(NOT_FOUND)}", "?chunk=bjch_a")


def test_a_table_of_one_group_does_not_link_its_rows_to_that_group():
    failures = [_failure(0, "bjch_a"), _failure(1, "bjch_a", BAD_EMAIL)]
    rows = failure_rows(failures, row_query="", per_page=25, reason=group_key(NOT_FOUND))
    assert [bool(r.similar) for r in rows] == [False, True]


def test_the_row_a_link_points_at_is_marked_and_no_other():
    failures = [_failure(i, "bjch_a", identifier=None) for i in range(3)]
    rows = failure_rows(failures, row_query="", per_page=25, target_row=2)
    assert [r.is_target for r in rows] == [False, True, False]
    assert rows[0].identifier is None


def test_an_odd_record_gets_a_row_that_says_what_is_wrong_and_links_nowhere_it_cannot():
    odd = Failure.parse({"id": 1, "chunk_id": None, "item_index": -5, "item_identifier": 7, "reason": None})
    (row,) = failure_rows([odd], row_query="q=x", per_page=25)
    assert (row.number, row.number_text, row.link) == (-4, "\u22124", "")
    assert (row.reason, row.chunk_id, row.chunk_link) == ("", None, "")
    assert row.identifier_unreadable and row.identifier is None
    assert row.notes == (
        "id is unreadable: Meteroid sent 1",
        "chunk_id is unreadable: Meteroid sent null",
        "item_identifier is unreadable: Meteroid sent 7",
        "reason is unreadable: Meteroid sent null",
        "Meteroid gives row \u22124, which no file has",
    )
    # Grouped with the failures whose reason is empty, as a scan keeps them.
    assert row.similar == f"?reason={group_key('')}"
