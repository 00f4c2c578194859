"""What a failed or stuck job says of itself: the pure function, case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.failures.whole_chunks import account
from dashboard.meteroid.records import JobDetail
from dashboard.pages.job_story import job_story

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def _job(
    status="FAILED", *, total=400, processed=400, failed=0, records=0, ran=timedelta(minutes=2), **extra
):
    ended = status in {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}
    created = NOW - ran - timedelta(days=1 if ended else 0)
    return JobDetail(
        id="bjob_7n42DGM5Tflk9n8mt7Fhc7",
        job_type="CUSTOMER_CSV_IMPORT",
        status=status,
        processed_items=processed,
        failed_items=failed,
        total_items=total,
        created_by="ops",
        created_at=created,
        completed_at=created + ran if ended else None,
        input_file_name="customers.csv",
        failure_count=records,
        has_error_csv=extra.get("has_error_csv", bool(failed)),
        error_csv_url=None,
        input_file_url=None,
        has_output=False,
        output_url=None,
    )


def _story(job, *, chunk_rows=0, chunks=0, errors=(), scan_state="done"):
    rows = account(
        failed_items=job.failed_items,
        failure_count=job.failure_count,
        is_terminal=job.is_terminal,
        has_error_csv=job.has_error_csv,
        scan_state=scan_state,
        chunk_rows=chunk_rows,
        failed_chunks=chunks,
    )
    return job_story(job, rows, chunk_errors=errors, now=NOW)


def test_a_job_never_split_into_chunks_says_what_that_usually_means():
    story = _story(_job(total=None, processed=0))
    assert story is not None
    assert "never split into chunks" in story.headline
    assert "header row" in " ".join(story.details) and "no data rows" in " ".join(story.details)


def test_whole_failed_chunks_give_their_error_from_the_errors_csv():
    job = _job(failed=400, processed=400)
    story = _story(job, chunk_rows=400, chunks=8, errors=[("Database error: connection refused", 8)])
    assert story is not None
    assert "lost with chunks that failed as a whole" in story.headline
    assert (
        story.details[0]
        == "The error of the 8 chunks, from Meteroid's errors CSV: “Database error: connection refused”."
    )


def test_several_chunk_errors_are_counted_each():
    job = _job(failed=100, processed=100)
    story = _story(job, chunk_rows=100, chunks=2, errors=[("timeout", 1), ("Chunk failed", 1)])
    assert story.details[0].endswith(": “timeout” (1 chunk); “Chunk failed” (1 chunk).")


def test_before_the_errors_csv_is_read_it_says_where_the_error_is():
    job = _job(failed=400)
    assert "reading their error from Meteroid's errors CSV" in _story(job, scan_state=None).details[0]
    assert "_error column of Meteroid's errors CSV" in _story(job, scan_state="failed").details[0]
    no_csv = _job(failed=400, has_error_csv=False)
    assert "wrote no errors CSV" in _story(no_csv, scan_state=None).details[0]


def test_a_job_that_ran_past_four_hours_was_given_up_on():
    job = _job(total=60_000, processed=21_000, failed=300, records=300, ran=timedelta(hours=4, minutes=1))
    story = _story(job)
    assert story is not None
    assert "Meteroid gave up on this job" in story.headline
    assert "39,000 rows of 60,000 were never processed" in story.headline
    # Skipped chunks are not failed ones: such a job may also end with errors, or completed.
    for status in ("COMPLETED_WITH_ERRORS", "COMPLETED"):
        assert "gave up" in _story(_job(status, total=600, processed=550, ran=timedelta(hours=5))).headline
    assert _story(_job("CANCELLED", total=600, processed=50, ran=timedelta(hours=5))) is None
    assert _story(_job("COMPLETED_WITH_ERRORS", total=600, processed=600, ran=timedelta(hours=5))) is None


def test_a_failed_job_with_no_failed_row_says_what_its_numbers_tell():
    story = _story(_job(total=78, processed=56))
    assert story.headline == (
        "Meteroid stopped this job after processing 56 of its 78 rows, with none failed: "
        "the other 22 were never processed."
    )
    assert (
        _story(_job(total=78, processed=78)).headline
        == "Meteroid marked this job failed, but counts no failed row."
    )


def test_a_failed_job_with_failure_records_needs_no_story():
    assert _story(_job(failed=30, records=30)) is None


def test_ended_jobs_that_are_not_failed_need_none():
    for status in ("COMPLETED", "COMPLETED_WITH_ERRORS", "CANCELLED"):
        assert _story(_job(status)) is None


def test_a_job_pending_or_chunking_for_over_an_hour_looks_stuck():
    assert _story(_job("PENDING", total=None, processed=0, ran=timedelta(minutes=50))) is None
    story = _story(_job("PENDING", total=None, processed=0, ran=timedelta(days=3, hours=2)))
    assert story is not None and story.stuck
    assert story.headline == "This job looks stuck: it has been waiting to start for 3 d 2 h."
    chunking = _story(_job("CHUNKING", total=None, processed=0, ran=timedelta(hours=2)))
    assert (
        chunking.headline == "This job looks stuck: Meteroid has been splitting its file into chunks for 2 h."
    )


def test_a_processing_job_looks_stuck_only_past_meteroids_own_limit():
    assert _story(_job("PROCESSING", total=600, processed=50, ran=timedelta(hours=3, minutes=59))) is None
    story = _story(_job("PROCESSING", total=600, processed=50, ran=timedelta(hours=6)))
    assert story is not None and story.stuck
    assert "processing for 6 h" in story.headline
    assert "batch worker" in story.details[0]


# --- On the job page, through the gateway to the sandbox ----------------------------------

import html as htmllib  # noqa: E402

import pytest  # noqa: E402

from dashboard.sandbox.world.data import SHOWCASE  # noqa: E402
from tests.support.helpers import htmx, wait_for_scan  # noqa: E402


@pytest.mark.django_db
def test_a_failed_job_that_processed_nothing_explains_itself(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['failed_unreadable']}/").content.decode()
    assert "This job has no failures." not in html
    assert 'id="job-story"' in html
    assert "the file was never split into chunks" in html


@pytest.mark.django_db
def test_a_failed_job_of_whole_chunks_gives_their_error(logged_in):
    job = SHOWCASE["retryable"]
    wait_for_scan(job)
    html = logged_in.get(f"/jobs/{job}/").content.decode()
    assert "This job has no failures." not in html
    story = html[html.index('id="job-story"') :]
    story = story[: story.index("</div>")]
    assert "lost with chunks that failed as a whole" in story
    assert "from Meteroid&#x27;s errors CSV: “" in story


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["pending", "chunking"])
def test_a_job_pending_or_chunking_for_days_looks_stuck(logged_in, role):
    job = SHOWCASE[role]
    for headers in ({}, htmx("job-summary")):
        html = logged_in.get(f"/jobs/{job}/", **headers).content.decode()
        assert "This job looks stuck" in html


@pytest.mark.django_db
def test_the_account_of_an_ended_job_is_asked_again_once_its_failures_are_read(logged_in):
    job = SHOWCASE["retryable"]
    # The page only asks for the index: it is read when a worker runs the scan, below.
    html = logged_in.get(f"/jobs/{job}/").content.decode()
    region = html[html.index('<div id="job-account"') :]
    assert 'hx-trigger="scan-finished from:body"' in region[:400]
    assert "The dashboard is reading their error from Meteroid's errors CSV." in htmllib.unescape(region)
    wait_for_scan(job)
    again = logged_in.get(f"/jobs/{job}/", **htmx("job-account")).content.decode()
    assert again.lstrip().startswith('<div id="job-account">')
    assert "from Meteroid&#x27;s errors CSV: “" in again
    assert 'id="job-summary"' not in again
