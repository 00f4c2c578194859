"""What the job's pages ask of a published index (`reading.JobFailures`): groups, filters,
row lookup, row ranges, chunks, ranked search with exact identifiers first, folded search."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.failures.reasons import KEY_RE, summarize_groups
from dashboard.index import indexing
from dashboard.index.models import IndexedJob
from dashboard.index.reading import JobFailures
from dashboard.index.rows import chunk_row, record_row
from dashboard.index.writer import write_failures
from dashboard.meteroid.records import Failure

pytestmark = pytest.mark.django_db

# Rows (1-based) 1, 3, 4, 10, 11, 12, 60, 61 over two chunks of 50 rows.
ROWS = [
    (0, "bjch_one", "evt_a", "Customer 'cus_AAA1' not found"),
    (2, "bjch_one", "evt_b", "Event code is required and cannot be empty"),
    (3, "bjch_one", None, "Customer 'cus_BBB2' not found"),
    (9, "bjch_one", "acme", "Customer with alias 'acme' not found"),
    (10, "bjch_one", "evt_e", "Customer 'cus_AAA1' not found"),
    (11, "bjch_one", "evt_f", "Event code is required and cannot be empty"),
    (59, "bjch_two", "evt_g", "Customer 'cus_CCC3' not found"),
    (60, "bjch_two", "Straße", "Customer with alias 'Straße' not found"),
]


def _published(rows, job_id: str = "bjob_test", **fields) -> JobFailures:
    """An index holding `rows`, written and published as a scan does."""
    indexed = IndexedJob.objects.create(
        **fields,
        base_url="https://meteroid.example",
        key_fingerprint="0123456789abcdef",
        job_id=job_id,
        state_key="s1",
        updated_at=timezone.now(),
    )
    assert indexing.claim(indexed, "test")
    records, chunk_rows = write_failures(indexed, rows)
    IndexedJob.objects.filter(pk=indexed.pk).update(records=records, chunk_rows=chunk_rows)
    indexing.publish(indexed, "test")
    indexed.refresh_from_db()
    return JobFailures(indexed)


def _failures(rows=ROWS, job_id: str = "bjob_test") -> JobFailures:
    return _published(
        [
            record_row(Failure(f"f{i}", chunk, index, ident, reason))
            for i, (index, chunk, ident, reason) in enumerate(rows)
        ],
        job_id,
    )


def _rows(selection) -> list[int]:
    return [failure.row_number for failure in selection.page(0, 100)]


def test_filters_combine():
    analysis = _failures()
    customers = analysis.grouping.groups[0]
    assert customers.template.text == "Customer '<id:cus>' not found"
    assert _rows(analysis.select()) == [1, 3, 4, 10, 11, 12, 60, 61]
    assert _rows(analysis.select(chunk_id="bjch_two")) == [60, 61]
    assert _rows(analysis.select(group_key=customers.key)) == [1, 4, 11, 60]
    assert _rows(analysis.select(chunk_id="bjch_one", group_key=customers.key)) == [1, 4, 11]
    assert _rows(analysis.select(query="ACME")) == [10]
    assert _rows(analysis.select(query="customer", chunk_id="bjch_two")) == [60, 61]
    assert _rows(analysis.select(query="strasse", group_key=customers.key)) == []
    assert _rows(analysis.select(group_key="000000000000")) == []
    assert _rows(analysis.select(chunk_id="bjch_none")) == []
    assert len(analysis.select(query="evt")) == len(analysis.select(query="EVT ")) == 5


def test_search_folds_case_as_people_type_it():
    analysis = _failures()
    assert _rows(analysis.select(query="STRASSE")) == [61]
    assert _rows(analysis.select(query="straße")) == [61]


def test_a_jobs_grouping_counts_exact_reasons_and_keeps_examples():
    analysis = _failures()
    grouping = analysis.grouping
    assert grouping.total == 8 and grouping.largest == 4
    customers = grouping.groups[0]
    assert customers.count == 4 and customers.share == 0.5
    assert customers.exact[0] == ("Customer 'cus_AAA1' not found", 2) and customers.distinct == 3
    assert [f.row_number for f in customers.examples] == [1, 4, 60]
    assert _rows(customers.positions) == [1, 4, 11, 60]
    assert grouping.find(customers.key) is customers
    assert analysis.template(customers.key) == customers.template
    assert analysis.template("000000000000") is None


def test_a_chunks_grouping_has_shares_of_the_chunk():
    grouping = _failures().grouping_for("bjch_two")
    assert grouping.total == 2
    assert [(g.template.text, g.share) for g in grouping.groups] == [
        ("Customer '<id:cus>' not found", 0.5),
        ("Customer with alias '…' not found", 0.5),
    ]


def test_rows_are_located_among_a_selection():
    positions = _failures().select()
    assert positions.locate(10) == (3, True)
    assert positions.locate(5) == (3, False)  # row 5 did not fail: it would come before row 10
    assert positions.locate(1000) == (8, False)


def test_pages_rows_ranges_and_chunks():
    analysis = _failures()
    everything = analysis.select()
    (failure,) = everything.page(6, 1)
    assert (failure.row_number, failure.chunk_id, failure.item_identifier) == (60, "bjch_two", "evt_g")
    assert [str(r) for r in everything.row_ranges()] == ["1", "3-4", "10-12", "60-61"]
    assert analysis.select(query="evt_").chunks() == [("bjch_one", 4), ("bjch_two", 1)]
    assert [f.row_number for f in everything.page(2, 3)] == [4, 10, 11]


def test_chunk_positions_are_each_chunks_failures_in_file_order():
    # Chunks interleaved, as the rows of whole failed chunks come after the failure records.
    records = [
        record_row(Failure(f"f{i}", chunk, i, "x", "r"))
        for i, chunk in ((0, "bjch_one"), (1, "bjch_two"), (2, "bjch_one"), (4, "bjch_two"))
    ]
    analysis = _published([*records, chunk_row(3, "d", "Chunk failed", "rows-51-100")])
    assert _rows(analysis.chunk_positions("bjch_one")) == [1, 3]
    assert _rows(analysis.chunk_positions("rows-51-100")) == [4]
    assert _rows(analysis.chunk_positions("bjch_two")) == [2, 5]
    assert _rows(analysis.chunk_positions("bjch_none")) == []
    assert len(analysis) == 5


def test_ranked_search_puts_exact_identifiers_first():
    analysis = _failures()
    ranked = analysis.ranked(query="ACME")
    assert [f.item_identifier for f in ranked.positions.page(0, 10)] == ["acme"]
    assert ranked.exact == 1
    evt = analysis.ranked(query="evt_")
    assert evt.exact == 0 and evt.in_identifier == 5
    # Rows are found among the exact ones and after them.
    rows = [
        (0, "bjch_one", "x-1", "r"),
        (1, "bjch_one", "x-13", "r"),
        (2, "bjch_one", "x-137", "r"),
        (3, "bjch_one", "x-13", "r"),
    ]
    ranked = _failures(rows, job_id="bjob_other").ranked(query="X-13")
    assert _rows(ranked.positions) == [2, 4, 3] and ranked.exact == 2 and ranked.contains == 1
    assert [f.row_number for f in ranked.positions.page(1, 2)] == [4, 3]
    assert ranked.positions.locate(4) == (1, True)
    assert ranked.positions.locate(3) == (2, True)
    assert ranked.positions.locate(1)[1] is False


def test_a_searchs_counts_are_read_in_one_pass(django_assert_num_queries):
    rows = [
        (0, "bjch_one", "x-13", "r"),
        (1, "bjch_one", "x-137", "r"),
        (2, "bjch_one", "y", "x-13 is unknown"),
        (3, "bjch_one", "x-13", "r"),
    ]
    analysis = _failures(rows, job_id="bjob_counts")
    with django_assert_num_queries(1):
        ranked = analysis.ranked(query="X-13")
        assert (len(ranked.positions), ranked.exact, ranked.in_identifier, ranked.contains) == (4, 2, 1, 2)


def test_a_job_without_an_index_has_nothing():
    analysis = JobFailures(None)
    assert len(analysis) == 0 and analysis.grouping.groups == ()
    assert len(analysis.select(query="x")) == 0 and analysis.select().row_ranges() == []


def _of_reasons(reasons: list[str]) -> JobFailures:
    """An index of one failure per reason, on rows 1, 2, …, in one chunk."""
    return _failures([(i, "bjch_one", f"row-{i}", reason) for i, reason in enumerate(reasons)])


REASONS = [
    "Customer 'cus_A1b2' not found",  # row 1
    "Event code is required and cannot be empty",  # row 2
    "Customer 'cus_B2c3' not found",  # row 3
    "Customer 'cus_A1b2' not found",  # row 4
    "No published version 3 found for plan 'plan_X9y8'",  # row 5
    "Customer 'cus_C3d4' not found",  # row 6
    "Event code is required and cannot be empty",  # row 7
]


def test_grouping_puts_the_largest_group_first_with_counts_and_shares():
    grouping = _of_reasons(REASONS).grouping
    assert grouping.total == 7
    assert [(g.template.text, g.count) for g in grouping.groups] == [
        ("Customer '<id:cus>' not found", 4),
        ("Event code is required and cannot be empty", 2),
        ("No published version <n> found for plan '<id:plan>'", 1),
    ]
    assert grouping.groups[0].share == pytest.approx(4 / 7)
    assert sum(g.count for g in grouping.groups) == grouping.total


def test_a_group_knows_its_exact_reasons_values_rows_and_examples():
    customers = _of_reasons(REASONS).grouping.groups[0]
    assert customers.exact == (
        ("Customer 'cus_A1b2' not found", 2),
        ("Customer 'cus_B2c3' not found", 1),
        ("Customer 'cus_C3d4' not found", 1),
    )
    (slot,) = customers.values
    assert slot.slot.label == "customer id"
    assert slot.top[0] == ("cus_A1b2", 2) and slot.distinct == 3
    assert _rows(customers.positions) == [1, 3, 4, 6]
    # One example per exact reason, first rows first.
    assert [f.row_number for f in customers.examples] == [1, 3, 6]


def test_ties_keep_file_order():
    grouping = _of_reasons(["b 'x'", "a", "b 'y'", "a"]).grouping
    assert [g.template.text for g in grouping.groups] == ["b '…'", "a"]


def test_an_index_without_failures_has_no_groups():
    grouping = _of_reasons([]).grouping
    assert grouping.total == 0 and grouping.groups == () and grouping.largest == 0


def test_a_value_shared_by_several_exact_reasons_is_counted_once_with_their_sum():
    (only,) = _of_reasons(["Customer  'acme' not found", "Customer 'acme' not found"]).grouping.groups
    assert only.distinct == 2  # two exact reasons (the spacing differs)...
    (slot,) = only.values
    assert slot.distinct == 1 and slot.top == (("acme", 2),)  # ...with one value between them


def test_a_summary_names_the_largest_groups():
    summary = summarize_groups(_of_reasons(REASONS).grouping, 2)
    assert [(s.template.text, s.count) for s in summary] == [
        ("Customer '<id:cus>' not found", 4),
        ("Event code is required and cannot be empty", 2),
    ]
    assert KEY_RE.fullmatch(summary[0].key)


def test_an_index_given_the_number_of_a_deleted_one_has_its_own_groups():
    first = _of_reasons(["a", "a"])
    assert [g.template.text for g in first.grouping.groups] == ["a"]
    number = first.index.pk
    first.index.delete()
    second = _published([record_row(Failure("f", "bjch_one", 0, "x", "b"))], pk=number)
    assert second.index.pk == number
    assert [g.template.text for g in second.grouping.groups] == ["b"]
