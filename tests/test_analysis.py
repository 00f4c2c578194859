"""Filters, row lookup and memoisation over one failure set (no HTTP)."""

from __future__ import annotations

from array import array

from dashboard.analysis import analysis_of
from dashboard.scan import FailureSet


def _set() -> FailureSet:
    # Rows (1-based) 1, 3, 4, 10, 11, 12, 60, 61 over two chunks of 50 rows.
    indices = [0, 2, 3, 9, 10, 11, 59, 60]
    reasons = [
        "Customer 'cus_AAA1' not found",
        "Event code is required and cannot be empty",
        "Customer 'cus_BBB2' not found",
        "Customer with alias 'acme' not found",
        "Customer 'cus_AAA1' not found",
        "Event code is required and cannot be empty",
        "Customer 'cus_CCC3' not found",
        "Customer with alias 'Straße' not found",
    ]
    identifiers = ["evt_a", "evt_b", None, "acme", "evt_e", "evt_f", "evt_g", "Straße"]
    return FailureSet(
        "bjob_test",
        array("q", indices),
        ("bjch_one", "bjch_two"),
        array("I", [0, 0, 0, 0, 0, 0, 1, 1]),
        tuple(identifiers),
        tuple(reasons),
    )


def test_the_same_set_gets_the_same_analysis():
    failures = _set()
    assert analysis_of(failures) is analysis_of(failures)
    assert analysis_of(_set()) is not analysis_of(failures)


def test_filters_combine():
    analysis = analysis_of(_set())
    customers = analysis.grouping.groups[0]
    assert customers.template.text == "Customer '<id:cus>' not found"
    assert list(analysis.select()) == list(range(8))
    assert list(analysis.select(chunk_id="bjch_two")) == [6, 7]
    assert list(analysis.select(group_key=customers.key)) == [0, 2, 4, 6]
    assert list(analysis.select(chunk_id="bjch_one", group_key=customers.key)) == [0, 2, 4]
    assert list(analysis.select(query="ACME")) == [3]
    assert list(analysis.select(query="customer", chunk_id="bjch_two")) == [6, 7]
    assert list(analysis.select(query="strasse", group_key=customers.key)) == []
    assert list(analysis.select(group_key="000000000000")) == []
    assert list(analysis.select(chunk_id="bjch_none")) == []


def test_selections_are_remembered():
    analysis = analysis_of(_set())
    assert analysis.select(query="evt") is analysis.select(query="EVT ")


def test_a_chunks_grouping_has_shares_of_the_chunk():
    analysis = analysis_of(_set())
    grouping = analysis.grouping_for("bjch_two")
    assert grouping.total == 2
    assert [(g.template.text, g.share) for g in grouping.groups] == [
        ("Customer '<id:cus>' not found", 0.5),
        ("Customer with alias '…' not found", 0.5),
    ]


def test_rows_are_located_among_a_selection():
    analysis = analysis_of(_set())
    positions = analysis.select()
    assert analysis.locate(positions, 10) == (3, True)
    assert analysis.locate(positions, 5) == (3, False)  # row 5 did not fail: it would come before row 10
    assert analysis.locate(positions, 1000) == (8, False)


def test_failures_rows_ranges_and_chunks():
    analysis = analysis_of(_set())
    failure = analysis.failure(6)
    assert (failure.row_number, failure.chunk_id, failure.item_identifier) == (60, "bjch_two", "evt_g")
    assert [str(r) for r in analysis.row_ranges(range(8))] == ["1", "3-4", "10-12", "60-61"]
    assert analysis.chunks_of([0, 6, 7]) == [("bjch_one", 1), ("bjch_two", 2)]
    assert [f.row_number for f in analysis.page(analysis.select(), 2, 3)] == [4, 10, 11]


def test_chunk_positions_are_each_chunks_failures_in_file_order():
    # Chunks interleaved, as the rows of whole failed chunks come after the failure records.
    failures = FailureSet(
        "bjob_test",
        array("q", [0, 1, 2, 3, 4]),
        ("bjch_one", "rows-51-100", "bjch_two"),
        array("I", [0, 2, 0, 1, 2]),
        ("a", "b", "c", "d", "e"),
        ("r",) * 5,
    )
    analysis = analysis_of(failures)
    assert list(analysis.chunk_positions("bjch_one")) == [0, 2]
    assert list(analysis.chunk_positions("rows-51-100")) == [3]
    assert list(analysis.chunk_positions("bjch_two")) == [1, 4]
    assert list(analysis.chunk_positions("bjch_none")) == []


def test_ranked_search_puts_exact_identifiers_first_and_remembers_it():
    analysis = analysis_of(_set())
    ranked = analysis.ranked(query="ACME")
    assert [analysis.failures.identifiers[p] for p in ranked.positions] == ["acme"]
    assert ranked.exact == 1
    assert analysis.ranked(query="acme ") is ranked
    evt = analysis.ranked(query="evt_")
    assert evt.exact == 0 and evt.in_identifier == 5
    # Rows are found among the exact ones and after them.
    failures = FailureSet(
        "bjob_test",
        array("q", [0, 1, 2, 3]),
        ("bjch_one",),
        array("I", [0, 0, 0, 0]),
        ("x-1", "x-13", "x-137", "x-13"),
        ("r",) * 4,
    )
    analysis = analysis_of(failures)
    ranked = analysis.ranked(query="x-13")
    assert list(ranked.positions) == [1, 3, 2] and ranked.exact == 2
    assert analysis.locate(ranked.positions, 4, lead=2) == (1, True)
    assert analysis.locate(ranked.positions, 3, lead=2) == (2, True)
    assert analysis.locate(ranked.positions, 1, lead=2)[1] is False
