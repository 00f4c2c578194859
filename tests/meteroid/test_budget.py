"""The budget for Meteroid: requests in flight per process, and a shared pause after a 429.

The pause is checked against the real client talking to the sandbox over HTTP; the sandbox
answers 429 (with `Retry-After: 1`) when SANDBOX_RATE_429 says so.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from dashboard.meteroid.budget import DEFAULT_PAUSE_SECONDS, Budget
from dashboard.meteroid.client import MeteroidClient
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.sandbox.api import stats
from dashboard.sandbox.api.server import sandbox_base_url
from dashboard.sandbox.world.data import SHOWCASE

JOB_ID = SHOWCASE["customers"]


def budget(**overrides) -> Budget:
    options = {"max_in_flight": 4, "slot_wait": 5.0, "max_pause_wait": 5.0} | overrides
    return Budget("scope-under-test", **options)


def test_no_more_than_the_cap_are_in_flight_at_once():
    limited = budget(max_in_flight=2)
    lock = threading.Lock()
    in_flight = peak = 0

    def request(_):
        nonlocal in_flight, peak
        with limited.slot():
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.05)
            with lock:
                in_flight -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(request, range(16)))
    assert peak == 2


def test_a_request_that_finds_no_free_slot_in_time_is_told_so():
    limited = budget(max_in_flight=1, slot_wait=0.1)
    with limited.slot(), pytest.raises(MeteroidError) as caught, limited.slot():
        pass
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.retryable
    with limited.slot():  # the slot came back
        pass


def test_a_slot_is_given_back_when_the_request_fails():
    limited = budget(max_in_flight=1, slot_wait=0.1)
    with pytest.raises(RuntimeError), limited.slot():
        raise RuntimeError("boom")
    with limited.slot():
        pass


def test_a_pause_is_seen_by_every_budget_of_that_meteroid():
    here, elsewhere, other_meteroid = (
        budget(),
        budget(),
        Budget("another", max_in_flight=1, slot_wait=1, max_pause_wait=1),
    )
    here.pause(30)
    assert 29 < elsewhere.paused_for() <= 30
    assert other_meteroid.paused_for() == 0


def test_a_pause_without_retry_after_lasts_the_default():
    here = budget()
    here.pause(None)
    assert 0 < here.paused_for() <= DEFAULT_PAUSE_SECONDS


def test_a_shorter_pause_does_not_cut_a_longer_one():
    here = budget()
    here.pause(30)
    here.pause(1)
    assert here.paused_for() > 29


def test_a_short_pause_is_waited_out():
    here = budget(max_pause_wait=2)
    here.pause(0.4)
    started = time.monotonic()
    with here.slot():
        waited = time.monotonic() - started
    assert 0.3 < waited < 1.5


def test_a_long_pause_fails_at_once_saying_when_to_come_back():
    here = budget(max_pause_wait=2)
    here.pause(30)
    started = time.monotonic()
    with pytest.raises(MeteroidError) as caught, here.slot():
        pass
    assert time.monotonic() - started < 0.5
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after_seconds == 30
    assert "try again in 30 s" in caught.value.message


# --- through the client ------------------------------------------------------------------------


class CountingBudget(Budget):
    """A budget that remembers its pauses (`paused` is set at the first) and the most
    requests it ever had in flight at once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pauses: list[float | None] = []
        self.paused = threading.Event()
        self.entered = self.in_flight = self.peak = 0
        self._count = threading.Lock()

    def pause(self, seconds):
        self.pauses.append(seconds)
        super().pause(seconds)
        self.paused.set()

    @contextmanager
    def slot(self):
        with super().slot():
            with self._count:
                self.entered += 1
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            try:
                yield
            finally:
                with self._count:
                    self.in_flight -= 1


def client(limits: Budget, *, max_retries: int = 0) -> MeteroidClient:
    from django.conf import settings

    return MeteroidClient(
        sandbox_base_url(),
        settings.SANDBOX_API_KEY,
        connect_timeout=2,
        read_timeout=5,
        max_retries=max_retries,
        max_retry_wait=2,
        budget=limits,
    )


def test_a_429_pauses_every_process_until_retry_after(settings):
    settings.SANDBOX_RATE_429 = 1.0
    with client(budget()) as meteroid, pytest.raises(MeteroidError) as caught:
        meteroid.get_job(JOB_ID)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert 0 < budget().paused_for() <= 1  # another process's budget sees it


def test_a_429_that_is_being_retried_already_pauses_the_others(settings):
    settings.SANDBOX_RATE_429 = 1.0
    limits = CountingBudget("scope-under-test", max_in_flight=2, slot_wait=5, max_pause_wait=5)
    with client(limits, max_retries=1) as meteroid, ThreadPoolExecutor(max_workers=1) as pool:
        call = pool.submit(meteroid.get_job, JOB_ID)
        assert limits.paused.wait(5)  # the first 429
        # The client now sleeps through Retry-After: 1 before its retry; meanwhile the
        # others are paused already.
        assert budget().paused_for() > 0
        assert not call.done()
        with pytest.raises(MeteroidError):
            call.result()
    assert set(limits.pauses) == {1.0}


def test_during_a_long_pause_no_request_goes_upstream(settings):
    paused = budget(max_pause_wait=0.5)
    paused.pause(20)
    before = stats.snapshot()["job"]
    with client(paused) as meteroid, pytest.raises(MeteroidError) as caught:
        meteroid.get_job(JOB_ID)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert stats.snapshot()["job"] == before


def test_the_client_keeps_no_more_than_the_cap_in_flight(settings):
    settings.SANDBOX_LATENCY_MS = 150  # slow enough that six asked at once would meet
    limits = CountingBudget("scope-under-test", max_in_flight=2, slot_wait=5, max_pause_wait=5)
    before = stats.snapshot()["job"]
    with client(limits) as meteroid, ThreadPoolExecutor(max_workers=6) as pool:
        jobs = list(pool.map(lambda _: meteroid.get_job(JOB_ID), range(6)))
    assert {job.id for job in jobs} == {JOB_ID}
    # Each request went through a slot, and never more than two at once.
    assert limits.entered == 6 == stats.snapshot()["job"] - before
    assert limits.peak == 2


# --- files count too -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_file_download_waits_for_a_slot_like_any_request(logged_in, meteroid, settings):
    from dashboard.meteroid.gateway import get_gateway
    from tests.support.upstream import JOB, file_path

    settings.METEROID_MAX_CONCURRENCY = 1
    logged_in.get(f"/jobs/{JOB}/")  # the job, and its file links, are known
    budget_ = get_gateway().client.budget
    assert budget_.max_in_flight == 1
    with budget_.slot():  # another request holds the only slot
        response = logged_in.get(f"/jobs/{JOB}/files/errors/")
        assert response.status_code == 503
        assert "already waiting on many answers" in response.content.decode()
        assert meteroid.count(file_path("errors")) == 0
    response = logged_in.get(f"/jobs/{JOB}/files/errors/")
    assert response.status_code == 200 and b"acme-1" in b"".join(response.streaming_content)
    assert meteroid.count(file_path("errors")) == 1


@pytest.mark.django_db
def test_a_429_on_a_file_pauses_the_pages_too(logged_in, meteroid):
    from tests.support.upstream import JOB, Reply, failures_path, file_path

    logged_in.get(f"/jobs/{JOB}/")
    meteroid.script(
        file_path("errors"),
        Reply(429, {"code": "TOO_MANY_REQUESTS", "message": "slow down"}, {"Retry-After": "30"}),
    )
    assert logged_in.get(f"/jobs/{JOB}/files/errors/").status_code == 503
    asked = meteroid.count(failures_path())
    # A page of failures not seen before: Meteroid is not asked for it while the pause is on.
    response = logged_in.get(f"/jobs/{JOB}/?page=3", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="failures")
    assert response.status_code == 503
    assert "rate-limiting" in response.content.decode()
    assert meteroid.count(failures_path()) == asked
