"""Meteroid failing in every way, through the real gateway over HTTP, seen on every page.

Each fault is served by a scripted server (tests/support/upstream.py). For each: the dashboard answers
with the honest status and a message that says what happened and what to do, shows no
traceback and no secret, retries within bounds (counted at the server, timed here), caches
nothing wrong (the good answer shows as soon as Meteroid heals), and a whole-job scan fails
honestly instead of keeping half a result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import pytest
from django.core.cache import cache

from dashboard.meteroid.gateway import get_gateway
from tests.support.helpers import htmx, wait_for_scan
from tests.support.upstream import (
    ACTIVE_JOB,
    CHUNKS,
    FAKE_KEY,
    FILE_TOKEN,
    JOB,
    JOBS_PATH,
    FakeMeteroid,
    Reply,
    detail_json,
    failure_json,
    failures_path,
    file_path,
    job_json,
    job_path,
)

pytestmark = pytest.mark.django_db

# With the fixture's settings (2 retries, 0.3 s connect, 0.5 s read, backoff 0 then 0.5 s),
# the slowest failing call takes about 3 × 0.5 + 0.5 = 2 s; a page makes at most two.
MAX_ATTEMPTS = 3
PAGE_SECONDS = 5.0


@dataclass(frozen=True)
class Page:
    """A dashboard view, and the upstream path whose fault it shows."""

    name: str
    url: str
    upstream: str
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()


PAGES = [
    Page("jobs list", "/jobs/", JOBS_PATH),
    Page("jobs table fragment", "/jobs/?page=1", JOBS_PATH, tuple(htmx("jobs-table").items())),
    Page("job page", f"/jobs/{JOB}/", job_path()),
    Page("job summary fragment", f"/jobs/{JOB}/", job_path(), tuple(htmx("job-summary").items())),
    Page("failures table", f"/jobs/{JOB}/", failures_path(), query=(("limit", "25"),)),
    Page(
        "failures fragment",
        f"/jobs/{JOB}/?page=2",
        failures_path(),
        tuple(htmx("failures").items()),
        (("limit", "25"),),
    ),
    Page("chunk filter fragment", f"/jobs/{JOB}/chunks/", job_path(), tuple(htmx("scan-filters").items())),
    Page("errors CSV download", f"/jobs/{JOB}/files/errors/", file_path("errors")),
]
PAGE_IDS = [page.name for page in PAGES]


def fetch(client, page: Page):
    started = time.monotonic()
    response = client.get(page.url, **dict(page.headers))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body.decode("utf-8", "replace"), time.monotonic() - started


def assert_safe(body: str) -> None:
    assert "Traceback" not in body
    assert FAKE_KEY not in body
    assert FILE_TOKEN not in body


def assert_heals(client, fake: FakeMeteroid, page: Page) -> None:
    """Once Meteroid answers well again, the page shows the good answer at once."""
    fake.heal()
    response, body, _ = fetch(client, page)
    assert response.status_code == 200, body[:500]
    if "download" in page.name:
        assert "acme-1" in body
    elif "chunk" in page.name:
        assert "Chunk" in body
    elif "jobs" in page.name:
        assert JOB in body
    elif "summary" in page.name:
        assert "Customers import" in body
    else:
        assert "acme-30" in body or "acme-0" in body


def assert_pauses(client, fake: FakeMeteroid, page: Page) -> None:
    """After a 429 nobody asks Meteroid again until its Retry-After has passed (the pause is
    shared through the cache): the page says when to come back, without a call."""
    fake.heal()
    query = dict(page.query)
    before = fake.count(page.upstream, **query)
    response, body, _ = fetch(client, page)
    assert response.status_code == 503, body[:500]
    assert "rate-limiting" in body and "try again in" in body
    assert fake.count(page.upstream, **query) == before
    cache.delete(get_gateway().client.budget.pause_key)  # as if the Retry-After had passed


# --- status answers: every page -------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    name: str
    reply: Reply
    status: int  # the dashboard's answer
    words: tuple[str, ...]  # what the message must say
    attempts: int  # requests Meteroid sees for one call


HTML = "<html><body><h1>502 Bad Gateway</h1><p>nginx</p><script>x()</script></body></html>"
STATUS_FAULTS = [
    Fault(
        "401",
        Reply(401, {"code": "UNAUTHORIZED", "message": "Missing or invalid API key"}),
        502,
        ("rejected the API key", "METEROID_API_KEY"),
        1,
    ),
    Fault(
        "403",
        Reply(403, {"code": "FORBIDDEN", "message": "nope"}, contract=False),
        502,
        ("refused access", "not be allowed", "ask for a key"),
        1,
    ),
    Fault(
        "429 with a long Retry-After",
        Reply(429, {"code": "TOO_MANY_REQUESTS", "message": "slow down"}, {"Retry-After": "30"}),
        503,
        ("rate-limiting", "try again in 30 s"),
        1,
    ),
    Fault(
        "429 without Retry-After",
        Reply(429, {"code": "TOO_MANY_REQUESTS", "message": "slow down"}),
        503,
        ("rate-limiting", "try again in"),
        MAX_ATTEMPTS,
    ),
    Fault(
        "500 with a JSON body",
        Reply(500, {"code": "INTERNAL_SERVER_ERROR", "message": "db exploded at /srv/app.rs:12"}),
        502,
        ("internal error", "try again later"),
        1,
    ),
    Fault(
        "502 with HTML", Reply(502, HTML, {"Content-Type": "text/html"}), 503, ("HTTP 502", "try again"), 3
    ),
    Fault(
        "503 with HTML", Reply(503, HTML, {"Content-Type": "text/html"}), 503, ("HTTP 503", "try again"), 3
    ),
    Fault(
        "504 with HTML", Reply(504, HTML, {"Content-Type": "text/html"}), 503, ("HTTP 504", "try again"), 3
    ),
    Fault("invalid JSON", Reply(200, b'{"data": [', {}), 502, ("could not read", "try again later"), 1),
    Fault("JSON of the wrong shape", Reply(200, [1, 2, 3], contract=False), 502, ("could not read",), 1),
    Fault("JSON null", Reply(200, b"null"), 502, ("could not read",), 1),
    Fault("not UTF-8", Reply(200, b"\xff\xfe\x00{", {}), 502, ("could not read",), 1),
]


# Every page meets one fault of each family; the pages whose upstream call differs (the list,
# a job, a page of failures, a file) meet every fault. A file's body is passed on as it
# comes, so the faults of a 200 answer's body do not apply to downloads.
EVERY_PAGE = {"401", "500 with a JSON body", "503 with HTML", "invalid JSON"}
CORE_PAGES = {"jobs list", "job page", "failures fragment", "errors CSV download"}
COMBINATIONS = [
    pytest.param(page, fault, id=f"{page.name}-{fault.name}")
    for page in PAGES
    for fault in STATUS_FAULTS
    if (fault.name in EVERY_PAGE or page.name in CORE_PAGES)
    and not ("download" in page.name and fault.reply.status == 200)
]


@pytest.mark.parametrize(("page", "fault"), COMBINATIONS)
def test_a_status_fault_is_told_honestly_on_every_page(logged_in, meteroid, page, fault):
    meteroid.script(page.upstream, fault.reply)
    response, body, elapsed = fetch(logged_in, page)
    if "download" in page.name and fault.reply.status in (401, 403):
        # A refused file link has expired: reloading the job page gives a fresh one.
        assert response.status_code == 502
        assert "reload the job page" in body
    elif page.name == "chunk filter fragment":
        # Its own job detail failed: the fragment says so in place of the filter.
        assert response.status_code == fault.status
    else:
        assert response.status_code == fault.status, body[:800]
        for words in fault.words:
            assert words in body, (words, body[:2000])
    assert_safe(body)
    assert "nginx" not in body and "x()" not in body and "/srv/app.rs" not in body
    if fault.status == 503 and fault.reply.headers.get("Retry-After"):
        assert response["Retry-After"] == "30"
    query = dict(page.query)
    # No view scans the job itself (a worker does): each call Meteroid saw is the page's.
    assert meteroid.count(page.upstream, **query) == fault.attempts
    assert elapsed < PAGE_SECONDS
    if fault.reply.status == 429:
        assert_pauses(logged_in, meteroid, page)
    assert_heals(logged_in, meteroid, page)


def test_a_404_of_the_job_is_a_404_page(logged_in, meteroid):
    meteroid.script(job_path(), Reply(404, {"code": "NOT_FOUND", "message": "Batch job not found"}))
    response, body, _ = fetch(logged_in, PAGES[2])
    assert response.status_code == 404
    assert "No such batch job" in body and "another Meteroid organisation" in body
    # In a support person's words: no "tenant", no "the dashboard's key".
    assert "tenant" not in body and "the dashboard's key" not in body
    assert meteroid.count(job_path()) == 1
    assert_heals(logged_in, meteroid, PAGES[2])


def test_a_404_of_a_file_says_the_link_may_have_expired(logged_in, meteroid):
    meteroid.script(file_path("errors"), Reply(404, {"code": "NOT_FOUND", "message": "gone"}))
    response, body, _ = fetch(logged_in, PAGES[-1])
    assert response.status_code == 404
    assert "no such file" in body and "reload the job page" in body
    assert_heals(logged_in, meteroid, PAGES[-1])


def test_a_plain_text_400_gives_meteroids_reason_and_no_retry(logged_in, meteroid):
    meteroid.script(
        failures_path(),
        Reply(400, "Failed to deserialize query string: chunk_id: invalid id `x`\x00\x1b[31m"),
    )
    response, body, _ = fetch(logged_in, PAGES[5])
    assert response.status_code == 400
    assert "Meteroid refused the request: Failed to deserialize query string" in body
    assert "\x00" not in body and "\x1b" not in body
    assert meteroid.count(failures_path(), limit="25") == 1
    assert_heals(logged_in, meteroid, PAGES[5])


def test_a_failures_fault_keeps_the_rest_of_the_job_page(logged_in, meteroid):
    meteroid.script(failures_path(), Reply(503, HTML))
    response, body, _ = fetch(logged_in, PAGES[4])
    assert response.status_code == 503
    assert "The failures could not be loaded." in body
    assert 'id="job-summary"' in body and "Customers import" in body
    assert "Try again" in body


# --- transport faults ---------------------------------------------------------------------


TRANSPORT_PAGES = [PAGES[0], PAGES[2], PAGES[5], PAGES[7]]


@pytest.mark.parametrize("page", TRANSPORT_PAGES, ids=[p.name for p in TRANSPORT_PAGES])
def test_a_slow_read_beyond_the_timeout_is_unavailable(logged_in, meteroid, page):
    meteroid.script(page.upstream, replace(meteroid.world(page.upstream, **dict(page.query)), delay=1.5))
    response, body, elapsed = fetch(logged_in, page)
    assert response.status_code == 503
    assert "did not answer within 0.5 s" in body and "try again" in body
    assert_safe(body)
    assert meteroid.count(page.upstream, **dict(page.query)) == MAX_ATTEMPTS
    assert elapsed < PAGE_SECONDS
    assert_heals(logged_in, meteroid, page)


@pytest.mark.parametrize("page", [PAGES[0], PAGES[2]], ids=["jobs list", "job page"])
def test_a_refused_connection_is_unavailable(logged_in, meteroid, page):
    meteroid.refuse()
    response, body, elapsed = fetch(logged_in, page)
    assert response.status_code == 503
    assert "refused the connection" in body and "try again" in body
    assert_safe(body)
    assert elapsed < PAGE_SECONDS
    meteroid.restore()
    assert_heals(logged_in, meteroid, page)


@pytest.mark.parametrize("page", [PAGES[0], PAGES[2]], ids=["jobs list", "job page"])
def test_a_connect_timeout_is_unavailable(logged_in, meteroid, page):
    meteroid.blackhole()
    response, body, elapsed = fetch(logged_in, page)
    assert response.status_code == 503
    assert "no connection to" in body and "within 0.3 s" in body and "try again" in body
    assert_safe(body)
    # 3 attempts of 0.3 s and 0.5 s of backoff, give or take scheduling.
    assert 0.8 < elapsed < PAGE_SECONDS
    meteroid.restore()
    assert_heals(logged_in, meteroid, page)


@pytest.mark.parametrize("page", [PAGES[0], PAGES[2]], ids=["jobs list", "job page"])
def test_an_answer_cut_short_is_unavailable(logged_in, meteroid, page):
    meteroid.script(page.upstream, replace(meteroid.world(page.upstream), cut_after=50))
    response, body, elapsed = fetch(logged_in, page)
    assert response.status_code == 503
    assert "broke before it finished answering" in body and "try again" in body
    assert_safe(body)
    assert elapsed < PAGE_SECONDS
    assert_heals(logged_in, meteroid, page)


def test_a_file_cut_short_does_not_pass_for_a_whole_one(logged_in, meteroid, caplog):
    body = b"alias,name,_error\r\n" + b"acme,Acme,not found\r\n" * 100
    meteroid.files["errors"] = Reply(200, body, {"Content-Type": "text/csv"}, cut_after=50)
    response = logged_in.get(f"/jobs/{JOB}/files/errors/")
    assert response.status_code == 200
    # The length is announced, so a browser knows the file is short; reading it fails.
    assert response["Content-Length"] == str(len(body))
    with pytest.raises(Exception) as caught:  # noqa: PT011 - any error, so long as it is not silence
        b"".join(response.streaming_content)
    assert FAKE_KEY not in str(caught.value) and FILE_TOKEN not in str(caught.value)
    # The log says which download stopped, and never names the file's link.
    assert f"Download of the errors CSV of {JOB} aborted after" in caplog.text
    assert FILE_TOKEN not in caplog.text


def test_retries_are_bounded_in_count_and_time_under_every_503(logged_in, meteroid):
    meteroid.script(JOBS_PATH, Reply(503, HTML, {"Retry-After": "1"}))
    started = time.monotonic()
    response = logged_in.get("/jobs/")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert meteroid.count(JOBS_PATH) == MAX_ATTEMPTS
    # Two waits of Retry-After: 1 s each, honoured, and no more.
    assert 1.9 < elapsed < PAGE_SECONDS


# --- answers that parse but do not add up ------------------------------------------------------


# Odd values inside records are read field by field: tests/meteroid/test_odd_records.py.


def test_a_failure_page_whose_count_is_not_a_number_is_unreadable(logged_in, meteroid):
    meteroid.script(failures_path(), Reply(200, {"data": [], "total_count": "3"}, contract=False))
    response, body, _ = fetch(logged_in, PAGES[5])
    assert response.status_code == 502
    assert "could not read" in body
    assert_heals(logged_in, meteroid, PAGES[5])


def test_an_answer_about_another_job_is_refused_and_not_cached(logged_in, meteroid):
    meteroid.script(job_path(), Reply(200, detail_json(ACTIVE_JOB)))
    response, body, _ = fetch(logged_in, PAGES[2])
    assert response.status_code == 502
    assert "another job" in body
    assert_heals(logged_in, meteroid, PAGES[2])


def test_unknown_types_and_statuses_are_shown_as_they_come(logged_in, meteroid):
    meteroid.contract = False  # a newer Meteroid, with values this contract does not know
    meteroid.details[JOB] = detail_json(job_type="INVOICE_CSV_IMPORT", status="PAUSED_FOR_REVIEW")
    listing = logged_in.get("/jobs/")
    page = logged_in.get(f"/jobs/{JOB}/")
    for response in (listing, page):
        assert response.status_code == 200
        assert "INVOICE_CSV_IMPORT" in response.content.decode()
        assert "PAUSED_FOR_REVIEW" in response.content.decode()
    # An unknown status counts as active: its summary keeps refreshing.
    assert "every 3s" in page.content.decode()


def test_a_job_list_claiming_billions_of_pages_still_renders(logged_in, meteroid):
    listing = {
        "data": [job_json()],
        "pagination_meta": {"page": 0, "per_page": 25, "total_items": 10**11, "total_pages": 4 * 10**9},
    }
    meteroid.script(JOBS_PATH, Reply(200, listing, contract=False))
    response = logged_in.get("/jobs/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "100,000,000,000 jobs" in html
    # Deep pages are asked for plainly, and beyond the form's limit the dashboard refuses.
    assert logged_in.get("/jobs/?page=1000000").status_code == 200
    assert logged_in.get("/jobs/?page=1000001").status_code == 400


def test_a_job_claiming_absurdly_many_failures_renders_and_its_scan_stops_early(logged_in, meteroid):
    # As many as the contract can say: 2^31 - 1 rows, and a trillion failure records.
    meteroid.details[JOB] = detail_json(failure_count=10**12, failed_items=2**31 - 1)
    rows = [failure_json(i) for i in range(25)]
    meteroid.script(
        failures_path(),
        lambda q: Reply(200, {"data": rows if q.get("offset") == ["0"] else [], "total_count": 10**12}),
    )
    response = logged_in.get(f"/jobs/{JOB}/")
    assert response.status_code == 200
    assert "1,000,000,000,000" in response.content.decode()
    scan = wait_for_scan(JOB)
    assert scan.state == "failed"
    assert "Try again" in scan.message
    # The first short page stops the scan: far fewer requests than the 2,500 pages announced.
    assert meteroid.count(failures_path(), limit="100") < 40


# --- whole-job scans -------------------------------------------------------------------------


def _chunk_fragment(client) -> str:
    return client.get(f"/jobs/{JOB}/chunks/", **htmx("scan-filters")).content.decode()


def test_a_scan_that_meets_an_empty_page_in_the_middle_fails_honestly(logged_in, meteroid):
    def answer(query):
        offset = int(query["offset"][0])
        rows = [] if offset == 100 else meteroid.failures[JOB][offset : offset + int(query["limit"][0])]
        return Reply(200, {"data": rows, "total_count": 120})

    meteroid.script(failures_path(), answer)
    _chunk_fragment(logged_in)
    scan = wait_for_scan(JOB)
    assert scan.state == "failed"
    assert scan.result is None
    html = _chunk_fragment(logged_in)
    assert "Reading the failures failed" in html
    assert "0 of the 20 failures expected from row 101" in html
    assert "Try again" in html
    # Nothing half-done was kept: once Meteroid is right again, a retry lists every chunk.
    meteroid.heal()
    response = logged_in.post(f"/jobs/{JOB}/chunks/rescan/", **htmx("scan-filters"))
    assert response.status_code == 200
    scan = wait_for_scan(JOB)
    assert scan.state == "done"
    assert [c.chunk_id for c in scan.result.chunks] == list(CHUNKS)
    assert scan.result.scanned == 120


def test_a_scan_of_a_job_whose_failures_change_meanwhile_fails_honestly(logged_in, meteroid):
    def answer(query):
        offset = int(query["offset"][0])
        rows = meteroid.failures[JOB][offset : offset + int(query["limit"][0])]
        return Reply(200, {"data": rows, "total_count": 120 if offset == 0 else 135})

    meteroid.script(failures_path(), answer)
    _chunk_fragment(logged_in)
    scan = wait_for_scan(JOB)
    assert scan.state == "failed"
    assert "changed during the scan (from 120 to 135)" in scan.message
    assert "Reading the failures failed" in _chunk_fragment(logged_in)


def test_a_scan_whose_pages_fail_upstream_says_why_and_recovers_on_retry(logged_in, meteroid):
    meteroid.script(failures_path(), Reply(500, {"code": "INTERNAL_SERVER_ERROR", "message": "boom"}))
    _chunk_fragment(logged_in)
    scan = wait_for_scan(JOB)
    assert scan.state == "failed"
    assert "internal error" in scan.message
    # A 500 is not retried by the gateway: one request, and the scan stops.
    assert meteroid.count(failures_path(), limit="100") == 1
    meteroid.heal()
    logged_in.post(f"/jobs/{JOB}/chunks/rescan/")
    assert wait_for_scan(JOB).state == "done"


def test_an_active_jobs_scan_tolerates_shifting_pages(logged_in, meteroid):
    grown = [failure_json(i) for i in range(130)]

    def answer(query):
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        rows = meteroid.failures[ACTIVE_JOB] if offset == 0 else grown
        return Reply(200, {"data": rows[offset : offset + limit], "total_count": len(rows)})

    meteroid.failures[ACTIVE_JOB] = [failure_json(i) for i in range(120)]
    meteroid.details[ACTIVE_JOB] = {**meteroid.details[ACTIVE_JOB], "failure_count": 120}
    meteroid.script(failures_path(ACTIVE_JOB), answer)
    logged_in.get(f"/jobs/{ACTIVE_JOB}/chunks/", **htmx("scan-filters"))
    scan = wait_for_scan(ACTIVE_JOB)
    # Still running, the job may grow between pages: the result is kept, marked provisional.
    assert scan.state == "done"
    assert scan.result.provisional
