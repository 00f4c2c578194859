"""No page waits longer than a person would: one deadline for all the calls to Meteroid that a
page makes, retries included, through the real gateway over HTTP to a scripted Meteroid
(tests/support/upstream.py) that sleeps 40 s on the failures endpoint.

The page answers within the deadline plus a second, with what it has (the job's summary, an
old copy of the table when there is one) and a table that loads itself once Meteroid answers;
retries stop when no time is left for them; downloads and scans keep their own budget."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

import pytest

from dashboard.meteroid import deadline
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from tests.support.helpers import htmx, wait_for_scan
from tests.support.upstream import JOB, Reply, failures_path, job_path

pytestmark = pytest.mark.django_db

HANG = 40.0  # seconds the scripted Meteroid sleeps before answering
SLACK = 1.0  # rendering and the test's own overhead, on top of the deadline


def hang(meteroid) -> None:
    meteroid.script(failures_path(), Reply(200, {"data": [], "total_count": 0}, delay=HANG))


def timed_get(client, url: str, **headers: str):
    started = time.monotonic()
    response = client.get(url, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body.decode(), time.monotonic() - started


def test_the_default_deadline_is_8_seconds(settings):
    assert settings.METEROID_REQUEST_DEADLINE_SECONDS == 8.0


def test_a_job_page_answers_within_the_default_deadline_when_failures_hang(logged_in, meteroid, settings):
    # The shipped timeouts: alone they would wait 10 s per attempt, four attempts.
    settings.METEROID_CONNECT_TIMEOUT = 3.05
    settings.METEROID_READ_TIMEOUT = 10.0
    settings.METEROID_MAX_RETRIES = 3
    settings.METEROID_MAX_RETRY_WAIT = 5.0
    hang(meteroid)

    response, body, seconds = timed_get(logged_in, f"/jobs/{JOB}/")

    assert seconds < settings.METEROID_REQUEST_DEADLINE_SECONDS + SLACK
    assert response.status_code == 503
    # What came back is shown: the job's summary.
    assert JOB in body and "customers.csv" in body
    assert "Meteroid is slow" in body
    assert "show here by themselves as soon as Meteroid answers" in body
    # The table region asks again by itself, and a plain link tries again.
    assert 'hx-trigger="load delay:5s' in body
    assert f'href="/jobs/{JOB}/"' in body
    # The one attempt took the whole deadline; there was no time for a retry. (The page's
    # calls ask for 25 rows; a scan asks for 100.)
    assert meteroid.count(failures_path(), limit="25") == 1


def test_retries_stop_when_no_time_is_left_for_them(logged_in, meteroid, settings, caplog):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 2.0
    settings.METEROID_CONNECT_TIMEOUT = 0.3
    settings.METEROID_READ_TIMEOUT = 0.3
    settings.METEROID_MAX_RETRIES = 10
    hang(meteroid)

    with caplog.at_level(logging.INFO, logger="dashboard.meteroid"):
        response, body, seconds = timed_get(logged_in, f"/jobs/{JOB}/")

    assert seconds < 2.0 + SLACK
    assert response.status_code == 503 and "Meteroid is slow" in body
    attempts = meteroid.count(failures_path(), limit="25")
    # Backoff 0, 0.25 × 2, 0.25 × 4… with 0.3 s attempts: the third retry would start too late.
    assert 2 <= attempts <= 4
    stopped = [r for r in caplog.records if "no retry" in r.getMessage()]
    assert stopped and "deadline" in stopped[0].getMessage()
    call = next(
        r
        for r in caplog.records
        if getattr(r, "meteroid_path", None) == failures_path() and r.meteroid_status is None
    )
    assert call.meteroid_retries == attempts - 1 < settings.METEROID_MAX_RETRIES


def test_a_call_is_not_started_once_the_deadline_is_spent(logged_in, meteroid, settings):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 1.0
    settings.METEROID_READ_TIMEOUT = 5.0
    # The job's own call takes the page's whole time: the failures are not even asked for.
    meteroid.script(job_path(), lambda _q: Reply(200, meteroid.details[JOB], delay=0.9))

    response, body, seconds = timed_get(logged_in, f"/jobs/{JOB}/")

    assert seconds < 1.0 + SLACK
    assert response.status_code == 503 and "Meteroid is slow" in body
    assert meteroid.count(failures_path(), limit="25") == 0


def test_a_slow_job_with_no_copy_is_a_page_that_says_so_with_a_way_to_try_again(
    logged_in, meteroid, settings
):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 1.0
    settings.METEROID_READ_TIMEOUT = 5.0
    meteroid.script(job_path(), replace(meteroid.world(job_path()), delay=HANG))

    response, body, seconds = timed_get(logged_in, f"/jobs/{JOB}/")

    assert seconds < 1.0 + SLACK
    assert response.status_code == 503
    assert "Meteroid is slow" in body and "Try again" in body
    # Nothing to show at all: the page looks again by itself.
    assert '<meta http-equiv="refresh" content="5">' in body
    assert "asks again by itself in 5 s" in body


def test_an_old_copy_of_the_table_is_shown_while_meteroid_is_slow(logged_in, meteroid, settings):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 1.5
    settings.METEROID_READ_TIMEOUT = 5.0
    settings.METEROID_CACHE_TERMINAL_SECONDS = 1
    assert logged_in.get(f"/jobs/{JOB}/").status_code == 200
    seen = time.monotonic()
    hang(meteroid)
    while time.monotonic() < seen + 1.05:  # the copies' lifetime passes
        time.sleep(0.05)

    response, body, seconds = timed_get(logged_in, f"/jobs/{JOB}/")

    assert seconds < 1.5 + SLACK
    assert response.status_code == 200
    assert "cus_00000" in body
    assert "this shows a copy fetched" in body and "Meteroid is slow" in body


def test_the_table_loads_by_itself_once_meteroid_answers(logged_in, meteroid, settings):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 1.0
    settings.METEROID_READ_TIMEOUT = 5.0
    hang(meteroid)
    response, body, _ = timed_get(logged_in, f"/jobs/{JOB}/", **htmx("failures"))
    # Still slow: the fragment keeps asking.
    assert response.status_code == 503 and 'hx-trigger="load delay:5s' in body

    meteroid.heal()
    response, body, _ = timed_get(logged_in, f"/jobs/{JOB}/", **htmx("failures"))

    assert response.status_code == 200
    assert "cus_00000" in body
    assert "load delay" not in body  # answered: no more asking


def test_downloads_are_not_held_to_a_pages_deadline(logged_in, meteroid, settings):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 0.5
    settings.METEROID_READ_TIMEOUT = 3.0
    meteroid.script(failures_path(), lambda q: replace(meteroid._failures(JOB, q), delay=0.7))

    response, body, seconds = timed_get(logged_in, f"/jobs/{JOB}/failures.csv")

    assert response.status_code == 200
    assert body.count("\r\n") == 121  # header and every failure
    assert seconds > 0.7


def test_a_scan_started_by_a_page_is_not_held_to_its_deadline(logged_in, meteroid, settings):
    settings.METEROID_REQUEST_DEADLINE_SECONDS = 0.5
    settings.METEROID_READ_TIMEOUT = 3.0
    meteroid.script(failures_path(), lambda q: replace(meteroid._failures(JOB, q), delay=0.7))
    logged_in.get(f"/jobs/{JOB}/")  # asks for the index (its table is too slow for the page)

    status = wait_for_scan(JOB)

    assert status.state == "done", status


def test_the_deadline_is_one_for_all_calls():
    with deadline.within(0.3) as limit:
        time.sleep(0.1)
        assert 0.0 < limit.remaining() <= 0.2
        assert limit.cap(5.0) <= 0.2
        with deadline.lifted():
            assert deadline.current() is None
        assert deadline.current() is limit
    assert deadline.current() is None
    assert limit.error().kind is ErrorKind.SLOW and limit.error().retryable


# --- every wait of a page ends at its deadline -----------------------------------------------


def test_waiting_for_a_free_request_slot_ends_at_the_deadline():
    from dashboard.meteroid.budget import Budget

    budget = Budget("deadline-slots", max_in_flight=1, slot_wait=5.0, max_pause_wait=5.0)
    with budget.slot(), deadline.within(0.5):
        started = time.monotonic()
        with pytest.raises(MeteroidError) as caught, budget.slot():
            pass
    assert time.monotonic() - started < 0.5 + 0.2
    assert caught.value.kind is ErrorKind.SLOW


def test_a_pause_that_ends_after_the_deadline_is_not_waited_out():
    from dashboard.meteroid.budget import Budget

    budget = Budget("deadline-pause", max_in_flight=1, slot_wait=5.0, max_pause_wait=5.0)
    budget.pause(3.0)
    with deadline.within(1.0):
        started = time.monotonic()
        with pytest.raises(MeteroidError) as caught, budget.slot():
            pass
    assert time.monotonic() - started < 0.2
    assert caught.value.kind is ErrorKind.RATE_LIMITED


def test_waiting_on_another_threads_fetch_ends_at_the_deadline():
    from dashboard.meteroid import cache

    get_or_fetch = cache.get_or_fetch
    release = threading.Event()
    leader = threading.Thread(target=get_or_fetch, args=("deadline-flight", 60, release.wait))
    leader.start()
    try:
        opened = time.monotonic() + 5
        while "deadline-flight" not in cache._flights:  # the leader's flight is open
            assert time.monotonic() < opened
            time.sleep(0.01)
        with deadline.within(0.5):
            started = time.monotonic()
            with pytest.raises(MeteroidError) as caught:
                get_or_fetch("deadline-flight", 60, lambda: pytest.fail("the waiter fetched"))
        assert time.monotonic() - started < 0.5 + 0.2
        assert caught.value.kind is ErrorKind.SLOW
    finally:
        release.set()
        leader.join(5)


def test_waiting_on_another_process_fetch_ends_at_the_deadline():
    from django.core.cache import cache

    from dashboard.meteroid.cache import get_or_fetch

    cache.add("deadline-processes:flight", "another process", 30)
    with deadline.within(0.5):
        started = time.monotonic()
        with pytest.raises(MeteroidError) as caught:
            get_or_fetch("deadline-processes", 60, lambda: pytest.fail("the waiter fetched"))
    assert time.monotonic() - started < 0.5 + 0.2
    assert caught.value.kind is ErrorKind.SLOW


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_malformed_deadline_stops_start_up_and_is_named(value):
    from tests.support.django_process import environment, manage

    result = manage("check", env=environment(METEROID_REQUEST_DEADLINE_SECONDS=value))
    assert result.returncode == 1
    # One line that names the variable, and no traceback (whose source lines would name it too).
    assert result.stderr.startswith("Cannot start: Environment variable METEROID_REQUEST_DEADLINE_SECONDS ")
    assert len(result.stderr.strip().splitlines()) == 1
