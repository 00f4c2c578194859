"""Typed records, read field by field: a page of failures parses as each failure alone would,
and into columns as into records; a job keeps what could be read, names what could not, and
says what looks wrong; only an answer of the wrong shape is refused."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.meteroid.records import Failure, FailureColumns, FailurePage, Job, JobDetail, JobList

JOB = {
    "id": "bjob_7n42DGM5Tflk9n8mt7Fhc7",
    "job_type": "CUSTOMER_CSV_IMPORT",
    "status": "COMPLETED_WITH_ERRORS",
    "input_file_name": "customers.csv",
    "total_items": 150,
    "processed_items": 150,
    "failed_items": 120,
    "created_by": "00000000-0000-4000-8000-000000000000",
    "created_at": "2026-03-25T10:00:00.000Z",
    "completed_at": "2026-03-25T10:05:00.000Z",
}
DETAIL = JOB | {
    "failure_count": 120,
    "has_error_csv": True,
    "error_csv_url": None,
    "input_file_url": None,
    "has_output": False,
    "output_url": None,
}
SHAPE = r"not an object|not a list|not an integer"
PAGINATION = {"page": 0, "per_page": 25, "total_items": 6, "total_pages": 1}

VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.text(max_size=3),
    st.lists(st.none(), max_size=1),
)
ITEM = st.one_of(
    st.dictionaries(
        st.sampled_from(["id", "chunk_id", "item_index", "item_identifier", "reason", "x"]), VALUE
    ),
    st.fixed_dictionaries(
        {
            "id": st.text(max_size=3),
            "chunk_id": st.text(max_size=3),
            "item_index": st.integers(min_value=0, max_value=9),
            "reason": st.text(max_size=3),
        },
        optional={"item_identifier": st.one_of(st.none(), st.text(max_size=3)), "extra": VALUE},
    ),
    VALUE,
)


def _has_row_number(item) -> bool:
    return isinstance(item, dict) and type(item.get("item_index")) is int


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEM, max_size=4))
def test_a_page_keeps_each_record_with_a_row_number_and_counts_the_others(items):
    page = FailurePage.parse({"data": items, "total_count": len(items)})
    assert page.failures == tuple(Failure.parse(item) for item in items if _has_row_number(item))
    assert page.apart == sum(not _has_row_number(item) for item in items)
    for failure, item in zip(page.failures, [i for i in items if _has_row_number(i)], strict=True):
        # What could be read is what Meteroid sent; what could not is named.
        for name in ("id", "chunk_id", "reason"):
            if isinstance(item.get(name), str):
                assert getattr(failure, name) == item[name]
            else:
                assert getattr(failure, name) is None and name in failure.unreadable_fields
        if item.get("item_identifier") is not None and not isinstance(item["item_identifier"], str):
            assert "item_identifier" in failure.unreadable_fields


@settings(max_examples=400, deadline=None)
@given(st.lists(ITEM, max_size=4), st.one_of(st.integers(min_value=0, max_value=9), VALUE))
def test_a_page_parses_into_the_columns_of_its_records(items, total):
    body = {"data": items, "total_count": total}
    try:
        page = FailurePage.parse(body)
    except ValueError:
        with pytest.raises(ValueError, match=SHAPE):
            FailureColumns.parse(body)
        return
    columns = FailureColumns.parse(body)
    assert columns.item_indices == [f.item_index for f in page.failures]
    assert columns.chunk_ids == [f.chunk_id or "" for f in page.failures]
    assert columns.identifiers == [f.item_identifier for f in page.failures]
    assert columns.reasons == [f.reason or "" for f in page.failures]
    assert columns.total_count == page.total_count
    assert columns.apart == page.apart and columns.records == len(items)
    assert columns.unreadable == sum(bool(f.unreadable) for f in page.failures)
    assert len(columns) == len(page.failures)


def test_a_bool_is_not_an_item_index():
    item = {"id": "a", "chunk_id": "b", "item_index": True, "reason": "r"}
    page = FailurePage.parse({"data": [item], "total_count": 1})
    assert page.failures == () and page.apart == 1
    with pytest.raises(ValueError, match="row number"):
        Failure.parse(item)


@pytest.mark.parametrize(
    "body",
    [[], {"data": {}, "total_count": 1}, {"total_count": 1}, {"data": [], "total_count": "1"}, {"data": []}],
)
def test_a_failure_page_of_the_wrong_shape_is_refused(body):
    with pytest.raises(ValueError, match=SHAPE):
        FailurePage.parse(body)
    with pytest.raises(ValueError, match=SHAPE):
        FailureColumns.parse(body)


# --- jobs, read field by field ------------------------------------------------------------------


def test_a_job_as_meteroid_describes_it_has_no_notes():
    job = Job.parse(JOB)
    assert job.unreadable == () and job.warnings == () and job.notes == ()
    assert job.created_at == datetime(2026, 3, 25, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "warning"),
    [
        ({"processed_items": -5}, "Meteroid reports −5 processed rows, below zero"),
        ({"failed_items": -(2**31)}, "Meteroid reports −2,147,483,648 failed rows, below zero"),
        (
            {"failed_items": 2**31 - 1},
            "Meteroid reports 2,147,483,647 failed rows, the largest number its API",
        ),
        (
            {"total_items": 10**12},
            "Meteroid reports 1,000,000,000,000 rows in the file, more than its API can count",
        ),
        ({"total_items": None, "processed_items": 3}, "Meteroid reports 3 processed rows, but no total"),
        ({"total_items": 10, "failed_items": 11}, "Meteroid reports 11 failed rows of a file of 10"),
        ({"completed_at": "2026-03-25T09:59:59.999Z"}, "Meteroid says this job ended before it was created"),
    ],
)
def test_an_odd_value_is_kept_as_meteroid_gave_it_with_a_warning(changes, warning):
    job = Job.parse(JOB | changes)
    assert job.unreadable == ()
    assert [w for w in job.warnings if w.startswith(warning)], job.warnings
    for name, value in changes.items():
        if name.endswith("_items"):
            assert getattr(job, name) == value


@pytest.mark.parametrize(
    ("changes", "field", "shown"),
    [
        ({"created_at": "yesterday"}, "created_at", "Meteroid sent 'yesterday'"),
        ({"created_at": "2026-03-25 10:00"}, "created_at", "Meteroid sent '2026-03-25 10:00'"),
        ({"completed_at": 5}, "completed_at", "Meteroid sent 5"),
        (
            {"created_at": "0001-01-01T00:00:00+01:00"},
            "created_at",
            "Meteroid sent '0001-01-01T00:00:00+01:00'",
        ),
        (
            {"created_at": "9999-12-31T23:59:59-01:00"},
            "created_at",
            "Meteroid sent '9999-12-31T23:59:59-01:00'",
        ),
        ({"processed_items": "120"}, "processed_items", "Meteroid sent '120'"),
        ({"processed_items": 1.0}, "processed_items", "Meteroid sent 1.0"),
        ({"failed_items": False}, "failed_items", "Meteroid sent False"),
        ({"failed_items": None}, "failed_items", "Meteroid sent null"),
        ({"total_items": "x" * 200}, "total_items", "Meteroid sent '" + "x" * 58 + "…"),
        ({"status": ["COMPLETED"]}, "status", "Meteroid sent ['COMPLETED']"),
        ({"input_file_name": 3}, "input_file_name", "Meteroid sent 3"),
    ],
)
def test_a_field_that_cannot_be_read_is_named_with_what_meteroid_sent(changes, field, shown):
    job = Job.parse(JOB | changes)
    assert getattr(job, field) is None
    assert job.unreadable_fields == {field}
    assert job.unreadable_notes == (f"{field} is unreadable: {shown}",)


@pytest.mark.parametrize(
    "field", ["job_type", "status", "processed_items", "failed_items", "created_by", "created_at"]
)
def test_a_missing_required_field_is_unreadable(field):
    job = Job.parse({k: v for k, v in JOB.items() if k != field})
    assert job.unreadable_notes == (f"{field} is unreadable: Meteroid did not send it",)


@pytest.mark.parametrize("field", ["total_items", "completed_at", "input_file_name"])
def test_a_missing_or_null_optional_field_is_no_problem(field):
    for job in (Job.parse({k: v for k, v in JOB.items() if k != field}), Job.parse(JOB | {field: None})):
        assert getattr(job, field) is None and job.unreadable == ()


def test_an_unreadable_status_or_time_leaves_a_job_that_pages_can_show():
    job = Job.parse(JOB | {"status": None, "job_type": 1, "created_at": "x", "completed_at": "y"})
    assert job.is_active and job.status_label == "Status unreadable" and job.type_label == "Type unreadable"
    assert job.duration(datetime.now(UTC)) is None and job.chunk_size is None
    assert job.progress_percent is not None


def test_a_detail_reads_its_own_fields_the_same_way():
    detail = JobDetail.parse(DETAIL | {"failure_count": -3, "has_output": "yes"})
    assert detail.failure_count == -3 and detail.rows_without_detail == 0
    assert "Meteroid reports −3 failure records, below zero" in detail.warnings
    assert detail.unreadable_fields == {"has_output"} and detail.has_output is False
    assert JobDetail.parse(DETAIL | {"failure_count": "x"}).may_have_failures


@pytest.mark.parametrize(
    "record", [{**JOB, "id": None}, {**JOB, "id": 3}, {**JOB, "id": " "}, "bjob_x", None]
)
def test_a_record_without_a_usable_id_is_no_job(record):
    with pytest.raises(ValueError, match="without a usable id"):
        Job.parse(record)
    with pytest.raises(ValueError, match=r"without a usable id|not an object"):
        JobDetail.parse(record)


def test_a_list_leaves_out_only_the_records_without_a_usable_id_and_says_why():
    odd = {**JOB, "id": "bjob_odd", "processed_items": -5, "created_at": "?"}
    items = [JOB, None, odd, {**JOB, "id": 4}, {k: v for k, v in JOB.items() if k != "id"}, []]
    listing = JobList.parse({"data": items, "pagination_meta": PAGINATION})
    assert [job.id for job in listing.jobs] == [JOB["id"], "bjob_odd"]
    assert listing.left_out == ("not a record", "an id that is not text", "no id", "not a record")
    assert listing.left_out_summary == "2 are not records, 1 has an id that is not text, 1 has no id"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"data": [JOB]},
        {"data": JOB, "pagination_meta": PAGINATION},
        {"data": [JOB], "pagination_meta": PAGINATION | {"total_items": -1}},
        {"data": [JOB], "pagination_meta": PAGINATION | {"page": "0"}},
    ],
)
def test_a_list_of_the_wrong_shape_is_refused(body):
    with pytest.raises(ValueError, match=SHAPE):
        JobList.parse(body)


def test_records_with_notes_pickle_and_compare_by_their_fields():
    detail = JobDetail.parse(DETAIL | {"created_at": "yesterday"})
    failure = Failure.parse({"id": 1, "chunk_id": "c", "item_index": -1, "reason": None})
    for record in (detail, failure, FailurePage((failure,), 1, apart=2)):
        assert pickle.loads(pickle.dumps(record)) == record  # noqa: S301 (bytes this test made)
    assert failure.warnings == ("Meteroid gives row 0, which no file has",)
    assert detail != JobDetail.parse(DETAIL | {"created_at": "today"})


@pytest.mark.parametrize("index", [2**63, -(2**63) - 1, 10**30])
def test_a_row_number_beyond_64_bits_is_no_row_number(index):
    item = {"id": "a", "chunk_id": "b", "item_index": index, "reason": "r"}
    page = FailurePage.parse({"data": [item], "total_count": 1})
    assert page.failures == () and page.apart == 1
    assert FailureColumns.parse({"data": [item], "total_count": 1}).apart == 1


@pytest.mark.parametrize("field", ["error_csv_url", "input_file_url", "output_url"])
@pytest.mark.parametrize(
    "value",
    [{"href": "/files/v1/batch-job/errors/x?token=tok_SECRET"}, ["/files/v1?token=tok_SECRET"], 7],
)
def test_a_file_link_that_cannot_be_read_is_named_but_never_repeated(field, value):
    # A file link carries a signed token that gives the file to whoever holds it.
    detail = JobDetail.parse(DETAIL | {field: value})
    assert getattr(detail, field) is None
    (note,) = detail.unreadable_notes
    assert note.startswith(f"{field} is unreadable: Meteroid sent a ")
    assert "tok_SECRET" not in note and "/files/" not in note
