"""A job's failures read straight from Meteroid, page after page (`stream_failures`), with a
stand-in client (no HTTP): order, pages ahead, and a terminal job's pages checked as they come."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import Gateway
from dashboard.meteroid.records import Failure, FailurePage
from dashboard.meteroid.streaming import stream_failures
from tests.support.fake_client import FakeClient, job_with_failures


def _pages(client: FakeClient) -> int:
    return sum(1 for call in client.calls if call[0] == "failures")


def test_streamed_failures_come_in_order_a_few_pages_ahead():
    client = FakeClient(1234)
    total, failures = stream_failures(Gateway(client), job_with_failures(1234))
    assert total == 1234
    assert len(client.calls) == 1  # only the first page before anything is read
    rows = list(failures)
    assert [f.item_index for f in rows] == [i * 3 for i in range(1234)]
    assert (rows[0].reason, rows[1].item_identifier, rows[1].chunk_id) == ("Reason 0", "alias-1", "bjch_0")
    assert len(client.calls) == 13


def test_a_slow_page_does_not_keep_the_other_readers_waiting():
    # The page at offset 100 answers only once pages well past the four in flight with it
    # have been asked for: readers that wait for the slow one to be taken before asking for
    # more never get there (the wait times out, the page is never released).
    client = FakeClient(2000)
    original = client.list_failures
    far_enough = threading.Event()

    def list_failures(job_id, **kwargs):
        if kwargs["offset"] >= 100 + 4 * 100 * 2:
            far_enough.set()
        if kwargs["offset"] == 100:
            assert far_enough.wait(timeout=10), "no page past the slow one's neighbours was asked for"
        return original(job_id, **kwargs)

    client.list_failures = list_failures
    _, failures = stream_failures(Gateway(client), job_with_failures(2000), concurrency=4)
    assert [f.item_index for f in failures] == [i * 3 for i in range(2000)]


def test_readings_that_share_slots_read_no_more_pages_at_once_than_there_are_slots():
    # Two readings of four pages at once each, sharing two slots (the backfill's scans of
    # one worker): never more than two pages in flight between them, and two at times.
    client = FakeClient(3000)
    original = client.list_failures
    lock = threading.Lock()
    in_flight, most = [0], [0]
    both_reading = threading.Barrier(2, timeout=10)

    def list_failures(job_id, **kwargs):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            if kwargs["offset"] == 100:  # each reading's first page after its first
                both_reading.wait()
            time.sleep(0.005)  # a page takes a while, as over HTTP: they overlap
            return original(job_id, **kwargs)
        finally:
            with lock:
                in_flight[0] -= 1

    client.list_failures = list_failures
    slots = threading.BoundedSemaphore(2)

    def read() -> int:
        _, failures = stream_failures(Gateway(client), job_with_failures(3000), concurrency=4, slots=slots)
        return sum(1 for _ in failures)

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(lambda _: read(), range(2))) == [3000, 3000]
    assert most[0] == 2


def test_streamed_failures_stop_on_an_error_rather_than_end_short():
    client = FakeClient(1000, fail_at=500)
    _, failures = stream_failures(Gateway(client), job_with_failures(1000))
    with pytest.raises(MeteroidError, match="could not be reached"):
        list(failures)


def test_a_short_first_page_of_an_ended_job_fails_before_any_row():
    client = FakeClient(300)
    original = client.list_failures

    def short(job_id, **kwargs):
        page = original(job_id, **kwargs)
        return FailurePage(page.failures[:50], page.total_count)

    client.list_failures = short
    with pytest.raises(MeteroidError, match="sent 50 of the 100 failures expected from row 1 on, of the 300"):
        stream_failures(Gateway(client), job_with_failures(300))


def test_an_ended_job_giving_fewer_rows_than_announced_stops_at_the_short_page():
    client = FakeClient(3000)
    client.rows = client.rows[:250]  # the pages still announce 3,000
    original = client.list_failures

    def lying(job_id, **kwargs):
        return FailurePage(original(job_id, **kwargs).failures, 3000)

    client.list_failures = lying
    _, failures = stream_failures(Gateway(client), job_with_failures(3000))
    read = []
    with pytest.raises(MeteroidError, match="50 of the 100 failures expected from row 201 on") as error:
        read.extend(failures)
    assert "Try again" in str(error.value)
    assert len(read) == 200  # the pages before the short one; none after it
    assert _pages(client) < 30  # it stopped there, without reading the 30 pages announced


def test_an_ended_jobs_count_that_changes_mid_read_stops_the_reading():
    client = FakeClient(3000)
    original = client.list_failures

    def moving(job_id, *, offset=0, **kwargs):
        page = original(job_id, offset=offset, **kwargs)
        return FailurePage(page.failures, 3000 if offset < 500 else 3001)

    client.list_failures = moving
    _, failures = stream_failures(Gateway(client), job_with_failures(3000))
    with pytest.raises(MeteroidError, match=r"changed during the scan \(from 3,000 to 3,001\)"):
        list(failures)
    assert _pages(client) < 30


def test_an_active_jobs_moving_count_and_shifting_pages_are_read_without_repeating_a_row():
    client = FakeClient(300)
    original = client.list_failures

    def shifting(job_id, *, offset=0, **kwargs):
        # The job goes on: by the second page the rows have moved by 10.
        page = original(job_id, offset=max(0, offset - 10), **kwargs)
        return FailurePage(page.failures, 300 + offset // 100)

    client.list_failures = shifting
    _, failures = stream_failures(Gateway(client), job_with_failures(300, status="PROCESSING"))
    indices = [f.item_index for f in failures]
    # Nothing fails, and the 10 rows met twice where the pages shifted are kept once.
    assert indices == sorted(set(indices))
    assert len(indices) == 290


def test_an_ended_jobs_row_with_several_failure_records_keeps_them_all():
    client = FakeClient(6)
    client.rows[3] = Failure(
        "id-x", client.rows[2].chunk_id, client.rows[2].item_index, None, "Another reason"
    )
    _, failures = stream_failures(Gateway(client), job_with_failures(6))
    rows = list(failures)
    assert [f.item_index for f in rows] == [0, 3, 6, 6, 12, 15]
    assert sorted(f.reason for f in rows[2:4]) == ["Another reason", "Reason 2"]


class CountsBelowZero(FakeClient):
    """Meteroid's count of failures below zero, as the spec allows (no minimum)."""

    def list_failures(self, job_id, *, limit=25, offset=0, chunk_id=None):
        page = super().list_failures(job_id, limit=limit, offset=offset, chunk_id=chunk_id)
        return FailurePage(page.failures, -(2**63))


def test_a_count_below_zero_is_read_by_the_jobs_own_count_or_a_first_page_not_full():
    client = CountsBelowZero(250)
    total, rows = stream_failures(Gateway(client), job_with_failures(250))
    assert total == 250 and len(list(rows)) == 250
    few = CountsBelowZero(40)
    total, rows = stream_failures(Gateway(few), job_with_failures(10**6), chunk_id="bjch_0")
    assert total == len(list(rows)) == 40  # the first page is not full: it is all


def test_a_count_below_zero_with_nothing_else_to_read_by_fails_before_any_row():
    client = CountsBelowZero(250)
    with pytest.raises(MeteroidError, match="cannot tell how many to read"):
        stream_failures(Gateway(client), job_with_failures(250), chunk_id="bjch_0")
    with pytest.raises(MeteroidError, match="cannot tell how many to read"):
        stream_failures(Gateway(client), replace(job_with_failures(250), failure_count=None))
