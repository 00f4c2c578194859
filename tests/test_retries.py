"""A job retried while the dashboard has it cached: through the gateway, over HTTP, to the
sandbox, which retries the job on demand (its control endpoint) as Meteroid's web app does.

The job page must show it running within the short lifetime of a failed job's detail, with
nothing of the old end shown as current (its counts, its errors CSV, its scan), follow it
live, then show its new end with its new failures."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable

import pytest
from django.test import Client

from dashboard.failures.whole_chunks import WHOLE_CHUNK_REASON
from dashboard.index.models import IndexedFailure
from dashboard.index.status import scan_status
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.api import control
from dashboard.sandbox.world import data
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import later, wait_for_scan

JOB = SHOWCASE["whole_chunks"]  # ended with errors, with records and chunks failed as a whole
API = "/sandbox/api/v1/batch-jobs"
LIFETIME = 1  # METEROID_CACHE_REOPENABLE_SECONDS in these tests
RUN_SECONDS = 3  # how long the retry runs


@pytest.fixture
def sandbox(settings) -> Client:
    """A client of the sandbox itself, with its key (for what the dashboard should show)."""
    return Client(headers={"Authorization": f"Bearer {settings.SANDBOX_API_KEY}"})


@pytest.fixture(autouse=True)
def _short_lifetime(settings):
    settings.METEROID_CACHE_REOPENABLE_SECONDS = LIFETIME


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()


def _wait_for(client: Client, url: str, ready: Callable[[str], bool], within: float) -> str:
    deadline = time.monotonic() + within
    while True:
        html = _page(client, url)
        if ready(html):
            return html
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} not as expected within {within:.0f} s:\n{html[:2000]}")
        time.sleep(0.1)


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _badge(html: str) -> str:
    found = re.search(r'<h1 id="job-title">.*?<span class="badge[^"]*">([^<]+)</span>', html, re.S)
    assert found, html[:2000]
    return found[1]


def _fact(html: str, name: str) -> str:
    found = re.search(rf"<dt>{name}</dt><dd>([0-9,]+)", html)
    assert found, name
    return found[1].replace(",", "")


def _rows(index) -> list[tuple[int, str | None, str, str]]:
    """The failures an index holds, as (item index, identifier, reason, chunk key), in file order."""
    found = IndexedFailure.objects.filter(indexed_job=index).order_by("row", "id")
    return [
        (row - 1, identifier, reason, chunk)
        for row, identifier, reason, chunk in found.values_list("row", "identifier", "reason", "chunk_id")
    ]


def _listed_status(html: str, job_id: str) -> str:
    row = re.search(rf'id="job-{job_id}".*?</tr>', html, re.S)
    assert row, f"{job_id} is not listed"
    return re.search(r'<span class="badge[^"]*">([^<]+)</span>', row[0])[1]


def test_a_retried_job_shows_as_running_within_the_short_lifetime_then_ends_with_its_new_failures(
    logged_in, sandbox
):
    url = f"/jobs/{JOB}/"
    before = sandbox.get(f"{API}/{JOB}").json()
    assert before["status"] == "COMPLETED_WITH_ERRORS"
    html = _page(logged_in, url)
    assert _badge(html) == "Completed with errors"
    old = wait_for_scan(JOB).result
    assert old is not None and old.total_count == before["failure_count"]
    # Every failed row: the failure records, and the rows of whole failed chunks from the
    # errors CSV (all of them: none of this job's rows fails to parse).
    assert old.records + old.chunk_rows == before["failed_items"] and old.unreadable == 0
    html = _page(logged_in, url)  # now kept rendered too
    assert (
        f"{before['failed_items']:,} failed rows: {before['failure_count']:,} with a reason recorded by Meteroid"
        in html
    )
    assert 'id="download-errors"' in html
    assert len(_csv(_page(logged_in, f"/jobs/{JOB}/failures.csv"))) == before["failed_items"] + 1

    retried = sandbox.post(f"/sandbox/control/batch-jobs/{JOB}/retry?seconds={RUN_SECONDS}")
    assert retried.status_code == 200
    asked = time.monotonic()

    # The cached detail lives LIFETIME seconds: the page shows the job running by then.
    html = _wait_for(logged_in, url, lambda h: _badge(h) == "Processing", LIFETIME + 2)
    assert time.monotonic() - asked < LIFETIME + 2
    assert 'id="job-reopened"' in html
    assert "This job was retried" in html
    assert "ended completed with errors" in html and f"with {before['failed_items']:,} failed rows" in html
    # Nothing of the old end passes for current: not its counts, its errors CSV, nor its scan.
    assert f"{before['failed_items']:,} failed rows:" not in html
    assert 'id="download-errors"' not in html
    assert 'hx-trigger="every 3s"' in html  # followed live like any running job
    running = get_gateway().job(JOB)
    assert running.is_active
    status = scan_status(running)
    assert status.result is None or (status.result.provisional and status.result is not old)
    assert logged_in.get(f"/jobs/{JOB}/rows-to-fix.csv").status_code == 409
    jobs = _page(logged_in, "/jobs/?per_page=100")
    assert _listed_status(jobs, JOB) == "Processing"
    assert "retried</span>" in re.search(rf'id="job-{JOB}".*?</tr>', jobs, re.S)[0]

    # It ends again: the page shows the new end and its new failures.
    html = _wait_for(logged_in, url, lambda h: _badge(h) != "Processing", RUN_SECONDS + 10)
    after = sandbox.get(f"{API}/{JOB}").json()
    assert after["status"] == "COMPLETED_WITH_ERRORS"
    assert after["failed_items"] < before["failed_items"]
    assert after["failure_count"] != before["failure_count"]
    assert _badge(html) == "Completed with errors"
    assert _fact(html, "Failed rows") == str(after["failed_items"])
    assert _fact(html, "Failed rows with a reason recorded") == str(after["failure_count"])
    assert 'id="job-reopened"' not in html
    new = wait_for_scan(JOB).result
    assert new is not None and not new.provisional
    assert new.total_count == new.records == after["failure_count"]
    assert new.records + new.chunk_rows + new.unreadable == after["failed_items"]
    table = _page(logged_in, f"{url}?per_page=100")
    assert f"of {new.scanned:,}" in table
    assert len(_csv(_page(logged_in, f"/jobs/{JOB}/failures.csv"))) == new.scanned + 1
    jobs = _page(logged_in, "/jobs/?per_page=50")
    assert _listed_status(jobs, JOB) == "Completed with errors"
    assert "retried</span>" not in jobs


def test_a_failed_job_is_asked_for_again_after_its_short_lifetime_and_a_completed_one_is_not(
    logged_in, settings, monkeypatch
):
    settings.METEROID_CACHE_REOPENABLE_SECONDS = 60
    gateway = get_gateway()
    failed, completed = SHOWCASE["failed"], SHOWCASE["no_failures"]  # the failed one has failures
    assert "Failed rows with a reason recorded</dt><dd>0<" not in _page(logged_in, f"/jobs/{failed}/?page=2")
    wait_for_scan(failed)
    _page(logged_in, f"/jobs/{completed}/")
    calls = gateway.stats()["calls"]
    _page(logged_in, f"/jobs/{completed}/")
    _page(logged_in, f"/jobs/{failed}/?page=2")
    assert gateway.stats()["calls"] == calls  # both warm
    later(monkeypatch, 61)  # past the failed job's lifetime, well within the completed one's
    _page(logged_in, f"/jobs/{completed}/")
    assert gateway.stats()["calls"] == calls
    _page(logged_in, f"/jobs/{failed}/?page=2")
    # Its detail, and nothing else: its failures and scan are kept under its state, unchanged.
    assert gateway.stats()["calls"] == calls + 1


def test_a_retried_jobs_rows_of_whole_chunks_are_read_anew_for_its_new_end(logged_in, sandbox, settings):
    # The rows of whole failed chunks come from the errors CSV and live in the scan, kept under
    # the job's state: once a retry has ended, they are those of the chunks that still failed
    # as a whole, read from the new errors CSV, and never those of a chunk the retry got
    # through (which has its own failure records now).
    gateway = get_gateway()
    ended = gateway.job(JOB)
    old_scan = wait_for_scan(JOB)
    old = old_scan.result
    assert old is not None and old.chunk_rows == ended.failed_items - ended.failure_count > 0
    size = ended.chunk_size
    old_whole = {i // size for i, _, _, chunk in _rows(old_scan.index) if chunk.startswith("rows-")}

    assert sandbox.post(f"/sandbox/control/batch-jobs/{JOB}/retry?seconds=1").status_code == 200
    deadline = time.monotonic() + 15
    while True:
        job = gateway.job(JOB)
        if job.is_terminal and job_state_key(job) != job_state_key(ended):
            break
        assert time.monotonic() < deadline, f"{JOB} has not ended again: {job.status}"
        time.sleep(0.1)

    new_scan = wait_for_scan(JOB)
    new = new_scan.result
    assert new is not None and new is not old and not new.provisional and not new.chunk_rows_problem
    assert new_scan.index.state_key == job_state_key(job) != old_scan.index.state_key
    # Every failed row of the new end, each once: its records and the rows of its whole chunks.
    assert new.records == job.failure_count
    assert new.records + new.chunk_rows == job.failed_items and new.unreadable == 0
    rows = _rows(new_scan.index)
    assert len(rows) == job.failed_items
    assert len({i for i, _, _, _ in rows}) == job.failed_items

    # What the sandbox says the retry did: which chunks still failed, which got through.
    now = data.find_job(settings.SANDBOX_SEED, JOB, retries=control.asked())
    still, recovered = set(data.failed_chunks(now)), now.plan.recovered
    assert still and recovered and still | recovered == old_whole
    chunk_rows = {i for i, _, _, chunk in rows if chunk.startswith("rows-")}
    assert chunk_rows == {i for k in still for i in range(k * size, min((k + 1) * size, job.total_items))}
    assert not {i // size for i in chunk_rows} & recovered  # the old rows of those chunks are gone
    assert {i // size for i, _, _, chunk in rows if chunk.startswith("bjch_")} & recovered
    export = _csv(_page(logged_in, f"/jobs/{JOB}/failures.csv"))
    assert len(export) - 1 == job.failed_items
    assert sum(row[2].startswith(WHOLE_CHUNK_REASON) for row in export[1:]) == new.chunk_rows
