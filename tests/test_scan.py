"""Whole-job scans, with a stand-in client (no HTTP): paging, sharing, failure and retry."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import Gateway
from dashboard.meteroid.records import Failure, FailurePage, JobDetail
from dashboard.scan import failure_set, retry_scan, run_scan, scan_status, stream_failures
from tests.helpers import wait_until
from tests.support.fake_client import FakeClient


def _job(
    failures: int, status: str = "COMPLETED_WITH_ERRORS", job_type: str = "CUSTOMER_CSV_IMPORT"
) -> JobDetail:
    return JobDetail(
        id="bjob_test1",
        job_type=job_type,
        status=status,
        processed_items=10_000,
        failed_items=failures,
        total_items=10_000,
        created_by="00000000-0000-0000-0000-000000000000",
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        completed_at=None,
        input_file_name="x.csv",
        failure_count=failures,
        has_error_csv=True,
        error_csv_url=None,
        input_file_url=None,
        has_output=False,
        output_url=None,
    )


def _wait(job, gateway, timeout=10.0):
    deadline = time.monotonic() + timeout
    while (status := scan_status(job, gateway=gateway)).state == "running":
        assert time.monotonic() < deadline, status
        time.sleep(0.01)
    return status


def test_a_scan_reads_every_page_and_lists_chunks_in_file_order():
    client = FakeClient(1234)
    failures, result = run_scan(Gateway(client), _job(1234))
    assert len(failures) == 1234 == result.scanned
    assert len(client.calls) == 13
    assert list(failures.item_indices) == [i * 3 for i in range(1234)]
    assert [c.chunk_id for c in result.chunks] == [f"bjch_{k}" for k in range(len(result.chunks))]
    assert sum(c.failures for c in result.chunks) == 1234
    assert result.chunks[1].row_start == 51
    assert not result.capped and not result.provisional
    rows = list(failures.rows())
    assert rows[0] == (0, None, "Reason 0", "bjch_0")
    assert rows[1] == (3, "alias-1", "Reason 1", "bjch_0")


def test_a_scan_reports_progress_page_by_page():
    seen = []
    run_scan(
        Gateway(FakeClient(1234)),
        _job(1234),
        progress=lambda fetched, total, force=False: seen.append(fetched),
    )
    # The first page, then every other one as it comes, each adding its rows.
    assert len(set(seen)) == len(seen) == 13
    assert seen[0] == 100 and max(seen) == 1234


def test_a_scan_stops_at_the_cap_and_says_so(settings):
    settings.SCAN_MAX_FAILURES = 250
    failures, result = run_scan(Gateway(FakeClient(1000)), _job(1000))
    assert len(failures) == 250
    assert result.capped and result.total_count == 1000


def test_a_scan_that_gets_fewer_rows_than_announced_fails():
    client = FakeClient(300)
    client.rows = client.rows[:250]  # total_count shrinks under our feet
    original = client.list_failures

    def lying(job_id, **kwargs):
        page = original(job_id, **kwargs)
        return FailurePage(page.failures, 300)

    client.list_failures = lying
    with pytest.raises(MeteroidError, match="announced"):
        run_scan(Gateway(client), _job(300))


def test_an_active_jobs_scan_is_provisional():
    _, result = run_scan(Gateway(FakeClient(10)), _job(10, status="PROCESSING"))
    assert result.provisional
    assert result.fresh_until - result.finished_at < 60


def test_a_terminal_jobs_scan_is_kept_seven_days_and_no_longer(clock):
    client = FakeClient(100)
    gateway, job = Gateway(client), _job(100)
    first = _wait(job, gateway).result
    calls = len(client.calls)
    clock.advance(7 * 24 * 3600 - 60)
    status = scan_status(job, gateway=gateway)
    assert status.state == "done" and not status.refreshing and status.result == first
    assert len(client.calls) == calls
    clock.advance(120)  # past seven days: the result is gone, and a new scan reads it again
    again = _wait(job, gateway)
    assert again.state == "done" and again.result.finished_at > first.finished_at
    assert len(client.calls) == 2 * calls


def test_an_active_jobs_scan_is_shown_for_15_s_then_refreshed_in_the_background(clock):
    client = FakeClient(100)
    gateway, job = Gateway(client), _job(100, status="PROCESSING")
    first = _wait(job, gateway).result
    calls = len(client.calls)
    clock.advance(14.5)
    status = scan_status(job, gateway=gateway)
    assert status.result == first and not status.refreshing and len(client.calls) == calls
    clock.advance(1)
    status = scan_status(job, gateway=gateway)
    # The old result is still shown while the new one is read.
    assert status.state == "done" and status.result == first and status.refreshing
    wait_until(
        lambda: scan_status(job, gateway=gateway).result.finished_at > first.finished_at,
        what="the refreshed scan",
    )
    assert len(client.calls) == 2 * calls


def test_scan_status_runs_in_the_background_and_then_serves_the_result():
    gate = threading.Event()
    client = FakeClient(500, gate=gate)
    gateway, job = Gateway(client), _job(500)
    first = scan_status(job, gateway=gateway)
    assert first.state == "running"
    gate.set()
    status = _wait(job, gateway)
    assert status.state == "done" and status.result.scanned == 500
    calls = len(client.calls)
    assert scan_status(job, gateway=gateway).state == "done"
    assert len(client.calls) == calls
    assert len(failure_set(job, gateway=gateway)) == 500


def test_many_people_asking_at_once_start_one_scan():
    gate = threading.Event()
    client = FakeClient(300, gate=gate)
    gateway, job = Gateway(client), _job(300)
    threads = [
        threading.Thread(target=scan_status, args=(job,), kwargs={"gateway": gateway}) for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.set()
    _wait(job, gateway)
    assert len(client.calls) == 3


def test_a_failed_scan_says_so_stores_nothing_and_can_be_retried():
    client = FakeClient(1000, fail_at=500)
    gateway, job = Gateway(client), _job(1000)
    status = _wait(job, gateway)
    assert status.state == "failed"
    assert "could not be reached" in status.message
    assert failure_set(job, gateway=gateway) is None
    # It is not retried by itself...
    calls = len(client.calls)
    assert scan_status(job, gateway=gateway).state == "failed"
    assert len(client.calls) == calls
    # ...but on request.
    client.fail_at = None
    retry_scan(job, gateway=gateway)
    assert _wait(job, gateway).state == "done"


def test_a_job_without_failures_needs_no_scan():
    client = FakeClient(0)
    status = scan_status(_job(0), gateway=Gateway(client))
    assert status.state == "done" and status.result.chunks == ()
    assert len(client.calls) == 0


def test_a_scan_groups_the_reasons_once_and_names_the_largest_groups():
    gateway, job = Gateway(FakeClient(1000)), _job(1000)
    result = _wait(job, gateway).result
    assert result.group_count == 1  # "Reason 0".."Reason 3" are one pattern: Reason <n>
    (only,) = result.groups
    assert only.template.text == "Reason <n>" and only.count == 1000 and only.share == 1.0
    # The grouping is kept for this process: the reasons page finds it ready.
    from dashboard.analysis import analysis_of

    assert analysis_of(failure_set(job, gateway=gateway))._grouping is not None


def test_a_scan_keeps_one_string_per_distinct_reason():
    failures, _ = run_scan(Gateway(FakeClient(500)), _job(500))
    assert len({id(reason) for reason in failures.reasons}) == 4


def test_failures_that_the_cache_dropped_start_a_new_scan():
    from django.core.cache import cache

    client = FakeClient(300)
    gateway, job = Gateway(client), _job(300)
    assert _wait(job, gateway).state == "done"
    assert failure_set(job, gateway=gateway) is not None
    # Drop the failures (and this process's memo of them), keep the summary.
    from dashboard import scan

    keys = scan._keys_of(gateway, job)
    cache.delete(keys.failures)
    scan._memo.clear()
    assert failure_set(job, gateway=gateway) is None
    assert scan_status(job, gateway=gateway).state in ("running", "done")
    assert _wait(job, gateway).state == "done"
    assert len(failure_set(job, gateway=gateway)) == 300


def test_streamed_failures_come_in_order_a_few_pages_ahead():
    client = FakeClient(1234)
    total, failures = stream_failures(Gateway(client), _job(1234))
    assert total == 1234
    assert len(client.calls) == 1  # only the first page before anything is read
    rows = list(failures)
    assert [f.item_index for f in rows] == [i * 3 for i in range(1234)]
    assert len(client.calls) == 13


def test_streamed_failures_stop_on_an_error_rather_than_end_short():
    client = FakeClient(1000, fail_at=500)
    _, failures = stream_failures(Gateway(client), _job(1000))
    with pytest.raises(MeteroidError):
        list(failures)


def test_streamed_failures_of_an_ended_job_must_all_come():
    client = FakeClient(300)
    original = client.list_failures

    def short(job_id, **kwargs):
        page = original(job_id, **kwargs)
        return FailurePage(page.failures[:50], page.total_count)

    client.list_failures = short
    _, failures = stream_failures(Gateway(client), _job(300))
    with pytest.raises(MeteroidError, match="announced"):
        list(failures)


def test_a_scan_that_lost_its_lock_no_longer_tells_the_jobs_state():
    from django.core.cache import cache

    gate = threading.Event()
    client = FakeClient(1000, fail_at=500, gate=gate)
    gateway, job = Gateway(client), _job(1000)
    assert scan_status(job, gateway=gateway).state == "running"
    cache.clear()  # the lock goes with everything else (an eviction, or the lock expired)
    gate.set()
    deadline = time.monotonic() + 10
    while any(t.name == f"scan-{job.id}" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    # The failed scan wrote neither progress nor its failure: the next look starts afresh.
    client.fail_at = None
    assert scan_status(job, gateway=gateway).state == "running"
    assert _wait(job, gateway).state == "done"


def test_a_scan_of_one_ended_state_is_never_shown_for_another():
    client = FakeClient(300)
    gateway = Gateway(client)
    failed = _job(300, status="FAILED")
    first = _wait(failed, gateway).result
    assert first is not None and first.scanned == 300
    # Retried: reopened, then ended again with fewer failures.
    reopened = replace(failed, status="PROCESSING", has_error_csv=False)
    client.rows = client.rows[:120]
    running = _wait(reopened, gateway)
    assert running.result is not first and running.result.provisional
    ended = replace(failed, status="COMPLETED_WITH_ERRORS", failure_count=120, failed_items=120)
    again = _wait(ended, gateway).result
    assert again is not first and not again.provisional and again.scanned == 120
    assert len(failure_set(ended, gateway=gateway)) == 120
    # The state seen before the retry still has its own scan, never the new one.
    assert scan_status(failed, gateway=gateway).result.scanned == 300


def test_a_scan_read_while_a_job_ran_is_dropped_once_its_end_is_scanned():
    from dashboard import scan

    client = FakeClient(90)
    gateway = Gateway(client)
    active = _job(90, status="PROCESSING")
    assert _wait(active, gateway).result.provisional
    ended = replace(active, status="COMPLETED_WITH_ERRORS")
    assert not _wait(ended, gateway).result.provisional
    # A retry reopening the job must not find the first run's failures to show.
    assert scan._safe_get(scan._keys_of(gateway, active).result) is None


def test_an_ended_jobs_row_with_several_failure_records_keeps_them_all():
    client = FakeClient(6)
    client.rows[3] = Failure(
        "id-x", client.rows[2].chunk_id, client.rows[2].item_index, None, "Another reason"
    )
    failures, result = run_scan(Gateway(client), _job(6))
    assert result.scanned == 6
    assert list(failures.item_indices) == [0, 3, 6, 6, 12, 15]
    assert sorted(failures.reasons[2:4]) == ["Another reason", "Reason 2"]


class _CountsBelowZero(FakeClient):
    """Meteroid's count of failures below zero, as the spec allows (no minimum)."""

    def list_failures(self, job_id, *, limit=25, offset=0, chunk_id=None):
        page = super().list_failures(job_id, limit=limit, offset=offset, chunk_id=chunk_id)
        return FailurePage(page.failures, -(2**63))


def test_a_count_below_zero_is_read_by_the_jobs_own_count_or_a_first_page_not_full():
    client = _CountsBelowZero(250)
    failures, result = run_scan(Gateway(client), _job(250))
    assert result.scanned == len(failures) == 250 and result.total_count == 250
    total, rows = stream_failures(Gateway(client), _job(250))
    assert total == 250 and len(list(rows)) == 250
    few = _CountsBelowZero(40)
    total, rows = stream_failures(Gateway(few), _job(10**6), chunk_id="bjch_0")
    assert total == len(list(rows)) == 40  # the first page is not full: it is all


def test_a_count_below_zero_with_nothing_else_to_read_by_fails_before_any_row():
    client = _CountsBelowZero(250)
    with pytest.raises(MeteroidError, match="cannot tell how many to read"):
        stream_failures(Gateway(client), _job(250), chunk_id="bjch_0")
    with pytest.raises(MeteroidError, match="cannot tell how many to read"):
        run_scan(Gateway(client), replace(_job(250), failure_count=None))
