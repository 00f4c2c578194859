"""A job's index as pages ask for it (`status.scan_status`), scanned from a stand-in client
(no HTTP) by `meteroid_rows` and `indexing.run_scan`, as a worker scans it: every page read,
chunks, the cap, progress, failures and retries, ended and active jobs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from dashboard.index import indexing, sources
from dashboard.index.models import IndexedFailure, IndexedJob
from dashboard.index.status import refresh_scan, retry_scan, scan_status
from dashboard.meteroid.gateway import Gateway
from dashboard.meteroid.records import FailurePage
from tests.support.fake_client import FakeClient, job_with_failures
from tests.support.helpers import run_index_scans

pytestmark = pytest.mark.django_db


class JobClient(FakeClient):
    """The stand-in client, describing `detail` as the job."""

    detail = None

    def get_job(self, job_id):
        self._answer(("job", job_id))
        return self.detail

    def now(self, detail):
        """The job as Meteroid describes it from now on (the copy the gateway keeps goes)."""
        self.detail = detail
        cache.clear()
        return detail


@pytest.fixture
def meteroid(monkeypatch):
    """Makes a stand-in Meteroid with `failures`, the one every scan reads through."""

    def make(failures: int, job=None, **kwargs) -> tuple[JobClient, Gateway]:
        client = JobClient(failures, **kwargs)
        client.detail = job or job_with_failures(failures)
        gateway = Gateway(client)
        monkeypatch.setattr(sources, "get_gateway", lambda: gateway)
        return client, gateway

    return make


def _scanned(job, gateway):
    scan_status(job, gateway=gateway)  # asks for the index, as a page does
    run_index_scans()
    return scan_status(job, gateway=gateway)


def _pages(client) -> int:
    return sum(1 for call in client.calls if call[0] == "failures")


def test_a_scan_reads_every_page_and_lists_chunks_in_file_order(meteroid):
    client, gateway = meteroid(1234)
    status = _scanned(client.detail, gateway)
    result = status.result
    assert status.state == "done" and result.scanned == 1234 == result.records
    assert _pages(client) == 13
    assert [c.chunk_id for c in result.chunks] == [f"bjch_{k}" for k in range(len(result.chunks))]
    assert sum(c.failures for c in result.chunks) == 1234
    assert result.chunks[1].row_start == 51
    assert not result.capped and not result.provisional
    rows = IndexedFailure.objects.filter(indexed_job=status.index).order_by("row")
    assert list(rows.values_list("row", flat=True)) == [i * 3 + 1 for i in range(1234)]
    assert [(r.identifier, r.reason, r.chunk_id) for r in rows[:2]] == [
        (None, "Reason 0", "bjch_0"),
        ("alias-1", "Reason 1", "bjch_0"),
    ]


def test_a_scan_shows_its_progress_batch_by_batch(meteroid, monkeypatch):
    client, gateway = meteroid(1234)
    job = client.detail
    monkeypatch.setattr(indexing, "BATCH_ROWS", 100)
    seen = []
    write = indexing.write_failures

    def watched(indexed, batch):
        seen.append(scan_status(job, gateway=gateway))
        return write(indexed, batch)

    monkeypatch.setattr(indexing, "write_failures", watched)
    assert scan_status(job, gateway=gateway).state == "running"
    run_index_scans()
    # Each batch is seen being written with the batches before it counted (in).
    assert {status.state for status in seen} == {"running"}
    assert [status.fetched for status in seen] == [*range(0, 1234, 100)]
    assert {status.total for status in seen} == {1234}
    assert seen[1].percent == 8 and seen[-1].percent == 97


def test_a_scan_stops_at_the_cap_and_says_so(meteroid, settings):
    settings.SCAN_MAX_FAILURES = 250
    client, gateway = meteroid(1000)
    result = _scanned(client.detail, gateway).result
    assert result.scanned == 250 and result.capped and result.total_count == 1000


def test_a_scan_that_gets_fewer_rows_than_announced_fails_and_keeps_nothing(meteroid):
    client, gateway = meteroid(300)
    client.rows = client.rows[:250]  # the pages still announce 300
    original = client.list_failures
    client.list_failures = lambda job_id, **kwargs: FailurePage(original(job_id, **kwargs).failures, 300)
    status = _scanned(client.detail, gateway)
    assert status.state == "failed" and status.result is None
    assert "50 of the 100 failures expected from row 201" in status.message
    assert not IndexedFailure.objects.exists()


def test_an_active_jobs_index_is_provisional(meteroid):
    client, gateway = meteroid(10, job_with_failures(10, status="PROCESSING"))
    assert _scanned(client.detail, gateway).result.provisional


def test_an_ended_jobs_index_is_read_once_and_served_after(meteroid):
    client, gateway = meteroid(500)
    job = client.detail
    first = scan_status(job, gateway=gateway)
    assert first.state == "running" and first.total == 500
    run_index_scans()
    status = scan_status(job, gateway=gateway)
    assert status.state == "done" and status.result.scanned == 500
    calls = len(client.calls)
    assert scan_status(job, gateway=gateway).result == status.result
    assert run_index_scans() == 0 and len(client.calls) == calls


def test_an_ended_jobs_published_index_is_kept_by_the_process_for_15_s(
    meteroid, clock, django_assert_num_queries
):
    # Every view of an ended job asks for its index; once published, the process takes it as
    # read for a while rather than ask the database on every view.
    client, gateway = meteroid(300)
    job = client.detail
    scan_status(job, gateway=gateway)
    run_index_scans()
    published = scan_status(job, gateway=gateway)
    with django_assert_num_queries(0):
        assert scan_status(job, gateway=gateway).result == published.result
    clock.advance(16)
    with django_assert_num_queries(1):
        assert scan_status(job, gateway=gateway).result == published.result
    # Another state of the job (a retry ended) is another index, asked for at once.
    retried = replace(job, failed_items=job.failed_items + 1)
    assert scan_status(retried, gateway=gateway).state == "running"


def test_an_active_jobs_index_is_shown_for_15_s_then_read_again_with_the_old_one_on_show(meteroid):
    client, gateway = meteroid(100, job_with_failures(100, status="PROCESSING"))
    job = client.detail
    first = _scanned(job, gateway)
    calls = _pages(client)
    moved = client.now(replace(job, processed_items=job.processed_items + 1))  # the job went on

    def finished_ago(seconds: float) -> None:
        IndexedJob.objects.filter(pk=first.index.pk).update(
            finished_at=timezone.now() - timedelta(seconds=seconds)
        )

    finished_ago(14.5)
    status = scan_status(moved, gateway=gateway)
    assert status.index == first.index and not status.refreshing
    assert run_index_scans() == 0 and _pages(client) == calls
    finished_ago(16)
    status = scan_status(moved, gateway=gateway)
    # The old index is still shown while the new one is read.
    assert status.state == "done" and status.index == first.index and status.refreshing
    assert run_index_scans() == 1 and _pages(client) == 2 * calls
    again = scan_status(moved, gateway=gateway)
    assert again.index != first.index and not again.refreshing and again.result.provisional


def test_an_active_jobs_failed_reread_keeps_the_old_index_on_show_and_says_why(meteroid):
    client, gateway = meteroid(100, job_with_failures(100, status="PROCESSING"))
    first = _scanned(client.detail, gateway)
    moved = client.now(replace(client.detail, processed_items=client.detail.processed_items + 1))
    IndexedJob.objects.filter(pk=first.index.pk).update(finished_at=timezone.now() - timedelta(seconds=16))
    client.fail_at = 0  # Meteroid fails the new reading
    assert scan_status(moved, gateway=gateway).refreshing
    assert run_index_scans() == 1
    status = scan_status(moved, gateway=gateway)
    assert status.state == "done" and status.index == first.index and not status.refreshing
    assert "could not be reached" in status.reread_problem
    # Asked for again, it is read again; once read, nothing is amiss.
    client.fail_at = None
    status = refresh_scan(moved, gateway=gateway)
    assert status.refreshing and not status.reread_problem
    run_index_scans()
    again = scan_status(moved, gateway=gateway)
    assert again.index != first.index and not again.reread_problem


def test_many_people_asking_at_once_start_one_scan(meteroid):
    client, gateway = meteroid(300)
    for _ in range(20):
        scan_status(client.detail, gateway=gateway)
    assert run_index_scans() == 1
    assert _pages(client) == 3


def test_a_failed_scan_says_so_keeps_nothing_and_is_tried_again_on_request(meteroid):
    client, gateway = meteroid(1000, fail_at=500)
    job = client.detail
    status = _scanned(job, gateway)
    assert status.state == "failed" and "could not be reached" in status.message
    assert not IndexedFailure.objects.exists()
    # It is not tried again by itself...
    calls = len(client.calls)
    assert scan_status(job, gateway=gateway).state == "failed"
    assert run_index_scans() == 0 and len(client.calls) == calls
    # ...but on request.
    client.fail_at = None
    assert retry_scan(job, gateway=gateway).state == "running"
    run_index_scans()
    assert scan_status(job, gateway=gateway).result.scanned == 1000


def test_a_job_without_failures_needs_no_scan(meteroid):
    client, gateway = meteroid(0)
    status = scan_status(client.detail, gateway=gateway)
    assert status.state == "done" and status.result.chunks == ()
    assert len(client.calls) == 0 and not IndexedJob.objects.exists()


def test_an_index_names_its_reason_groups(meteroid):
    client, gateway = meteroid(1000)
    result = _scanned(client.detail, gateway).result
    assert result.group_count == 1  # "Reason 0".."Reason 3" are one pattern: Reason <n>
    (only,) = result.groups
    assert only.template.text == "Reason <n>" and only.count == 1000 and only.share == 1.0


def test_an_index_of_one_ended_state_is_never_shown_for_another(meteroid):
    client, gateway = meteroid(300, job_with_failures(300, status="FAILED"))
    failed = client.detail
    first = _scanned(failed, gateway).result
    assert first.scanned == 300
    # Retried: reopened, then ended again with fewer failures.
    reopened = client.now(replace(failed, status="PROCESSING", has_error_csv=False))
    client.rows = client.rows[:120]
    running = _scanned(reopened, gateway).result
    assert running.index_pk != first.index_pk and running.provisional and running.scanned == 120
    ended = client.now(replace(failed, status="COMPLETED_WITH_ERRORS", failure_count=120, failed_items=120))
    again = _scanned(ended, gateway).result
    assert again.index_pk not in (first.index_pk, running.index_pk)
    assert not again.provisional and again.scanned == 120
    # The state seen before the retry still has its own index, never the new one.
    assert scan_status(failed, gateway=gateway).result.scanned == 300


def test_an_index_read_while_a_job_ran_is_not_shown_once_it_has_ended_and_been_retried(meteroid):
    client, gateway = meteroid(90, job_with_failures(90, status="PROCESSING"))
    active = client.detail
    assert _scanned(active, gateway).result.provisional
    ended = client.now(replace(active, status="COMPLETED_WITH_ERRORS"))
    assert not _scanned(ended, gateway).result.provisional
    # A retry reopening the job must not find the first run's failures to show.
    reopened = client.now(replace(active, processed_items=1))
    assert scan_status(reopened, gateway=gateway).state == "running"


def test_a_count_below_zero_is_read_by_the_jobs_own_count(meteroid):
    client, gateway = meteroid(250)
    original = client.list_failures
    client.list_failures = lambda job_id, **kwargs: FailurePage(original(job_id, **kwargs).failures, -(2**63))
    result = _scanned(client.detail, gateway).result
    assert result.scanned == 250 and result.total_count == 250
