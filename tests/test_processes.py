"""Two dashboard processes (gunicorn) and an index worker sharing one Redis and one database,
in front of one sandbox process: what one fetched the other serves, cold pages cost one
upstream call however many ask across both (and the scan they ask for, run once by the
worker, one more per page of failures), and when Meteroid fails both serve the old copy with
its banner."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
import requests

from dashboard.sandbox.world.data import SHOWCASE
from tests.support import services
from tests.support.helpers import wait_until
from tests.support.processes import Stack, start_stack

pytestmark = pytest.mark.redis

CUSTOMERS = SHOWCASE["customers"]
NO_FAILURES = SHOWCASE["no_failures"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    client = services.require_redis()
    prefix = f"test-processes-{uuid.uuid4().hex[:8]}"
    stack = start_stack(
        tmp_path_factory.mktemp("processes"),
        cache_url=f"{services.REDIS_URL}?key_prefix={prefix}",
        SANDBOX_LATENCY_MS="100",  # slow enough that the requests below meet in flight
        METEROID_MAX_RETRIES="0",
        METEROID_CACHE_LIST_SECONDS="1",
    )
    try:
        yield stack
    finally:
        stack.stop()
        for key in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(key)


@pytest.fixture(scope="module")
def browser(stack: Stack) -> requests.Session:
    return stack.login(stack.dashboards[0])


def _get(session: requests.Session, url: str) -> requests.Response:
    response = session.get(url, timeout=30, allow_redirects=False)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response


def _wait_for_index(stack: Stack, job_id: str) -> None:
    """Wait for the worker to have indexed `job_id` (the scan its pages asked for)."""
    status = wait_until(
        lambda: stack.index_status(job_id) in ("done", "failed") and stack.index_status(job_id),
        timeout=60,
        what=f"the index of {job_id}",
    )
    assert status == "done", stack.worker.log() if stack.worker else status


def test_a_login_on_one_dashboard_is_good_on_the_other(stack, browser):
    second = stack.dashboards[1]
    response = browser.get(f"{second.url}/jobs/", timeout=30, allow_redirects=False)
    assert response.status_code == 200


def test_a_page_fetched_by_one_dashboard_is_served_by_the_other_without_a_call(stack, browser):
    first, second = stack.dashboards
    stack.reset_calls()
    one = _get(browser, f"{first.url}/jobs/{NO_FAILURES}/").text
    assert stack.calls() == {"jobs": 0, "job": 1, "failures": 1, "files": 0}
    two = _get(browser, f"{second.url}/jobs/{NO_FAILURES}/").text
    assert stack.calls() == {"jobs": 0, "job": 1, "failures": 1, "files": 0}
    assert "This job has no failures." in one and "This job has no failures." in two


def test_twenty_cold_requests_across_both_dashboards_make_one_call_per_page(stack, browser):
    stack.reset_calls()
    cookies = browser.cookies.get_dict()
    urls = [f"{stack.dashboards[i % 2].url}/jobs/{CUSTOMERS}/?page=2" for i in range(20)]
    barrier = threading.Barrier(len(urls))
    statuses: list[int] = []

    def ask(url: str) -> None:
        session = requests.Session()
        session.cookies.update(cookies)
        barrier.wait()
        statuses.append(session.get(url, timeout=60, allow_redirects=False).status_code)

    threads = [threading.Thread(target=ask, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert statuses == [200] * 20
    _wait_for_index(stack, CUSTOMERS)
    # One call for the job, one for page 2 of its failures, and the one whole-job scan that
    # the chunk list needs, in the worker: 313 failures, four pages of 100, and the input
    # file, whose rows' identifiers the index keeps ("did it import?").
    assert stack.calls() == {"jobs": 0, "job": 1, "failures": 1 + 4, "files": 1}


def test_the_same_for_the_job_list(stack, browser):
    stack.reset_calls()
    cookies = browser.cookies.get_dict()
    urls = [f"{stack.dashboards[i % 2].url}/jobs/?status=FAILED&per_page=50" for i in range(20)]
    barrier = threading.Barrier(len(urls))
    statuses: list[int] = []

    def ask(url: str) -> None:
        session = requests.Session()
        session.cookies.update(cookies)
        barrier.wait()
        statuses.append(session.get(url, timeout=60, allow_redirects=False).status_code)

    threads = [threading.Thread(target=ask, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    # Asserted here, in the test's own thread: an assertion inside `ask` would only warn.
    assert statuses == [200] * 20
    assert stack.calls()["jobs"] == 1


def test_when_meteroid_fails_the_other_dashboard_serves_the_old_copy_with_a_banner(stack, browser):
    first, second = stack.dashboards
    _get(browser, f"{first.url}/jobs/?type=CUSTOMER_CSV_IMPORT")
    stack.replace_sandbox(SANDBOX_RATE_500="1")
    try:
        # The copy is served without a call while it lasts (1 s in these dashboards); the
        # first request past its lifetime asks Meteroid, which fails.
        def past_lifetime() -> str | None:
            html = _get(browser, f"{second.url}/jobs/?type=CUSTOMER_CSV_IMPORT").text
            return html if stack.calls()["jobs"] else None

        html = wait_until(past_lifetime, timeout=10, what="the list asked of Meteroid again")
        assert re.search(
            r"Meteroid did not answer, so this shows a copy fetched <time[^>]*>\d+ seconds? ago</time>", html
        )
        assert "Meteroid had an internal error (HTTP 500)" in html
        assert stack.calls()["jobs"] == 1  # it was asked, and failed
    finally:
        stack.replace_sandbox(SANDBOX_RATE_500="0")
