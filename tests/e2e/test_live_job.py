"""A running job in Chromium: its numbers and its table move by themselves (a reader who
paged is told of new failures instead), every part shows the end once the job has ended, and
the page then stops asking. Each poll is one request.

Live sandbox jobs run for about three minutes; this test starts a dashboard whose sandbox
clock (SANDBOX_TIME_OFFSET_SECONDS) is set a few seconds before the end of one of them."""

from __future__ import annotations

import time

from playwright.sync_api import Request, expect

from dashboard.sandbox.world import data
from tests.e2e.support import (
    assert_accessible,
    assert_same_document,
    first_number,
    mark_page,
    path_and_query,
    screenshot,
    table_rows,
)
from tests.support.live_jobs import growing_job

LEAD_SECONDS = 10  # how long before its end the job is shown when the test starts
POLL_SECONDS = 3  # the summary's hx-trigger


def _ending_job(now: float) -> tuple[str, float]:
    """A live job that ended shortly before `now`, and the instant (epoch s) it ended."""
    ended = {}
    for back in range(30, 330, 30):
        for job_id in data.live_job_ids(now - back):
            job = data.find_job(data.DEFAULT_SEED, job_id, now)
            if job is not None and job.is_terminal:
                ended[job_id] = job.completed_ms / 1000
    job_id = max(ended, key=ended.get)
    return job_id, ended[job_id]


def test_an_active_job_moves_by_itself_and_polling_stops_once_it_ends(start_dashboard, new_context):
    now = time.time()
    job_id, ended = _ending_job(now)
    server = start_dashboard(SANDBOX_TIME_OFFSET_SECONDS=str(ended - now - LEAD_SECONDS))
    page = new_context(origin=server.url).new_page()
    polls: list[float] = []

    def on_request(request: Request) -> None:
        if request.headers.get("hx-target") == "job-summary":
            polls.append(time.monotonic())

    page.on("request", on_request)
    page.goto(f"/jobs/{job_id}/")
    badge = page.locator("#job-summary .badge")
    expect(badge).to_have_text("Processing")
    processed = page.locator("#job-summary dd").first
    before = first_number(processed.inner_text())

    # The page is never reloaded: the summary polls itself.
    page.evaluate("window.__sameDocument = true")
    page.wait_for_function(
        "before => Number(document.querySelector('#job-summary dd').innerText"
        ".match(/[0-9][0-9,]*/)[0].replace(/,/g, '')) > before",
        arg=before,
        timeout=15_000,
    )
    assert first_number(processed.inner_text()) > before

    expect(badge).to_contain_text("Completed", timeout=LEAD_SECONDS * 1000 + 15_000)
    expect(page.locator("#job-summary")).not_to_have_attribute("hx-trigger", "every 3s")
    expect(page.locator("#job-summary dt").nth(4)).to_have_text("Completed")
    # The table comes once more when the job ends, with the final count (every failed row,
    # rows of whole failed chunks too): what a fresh load of the page shows.
    expect(page.locator("#scan-filters")).not_to_contain_text("Reading every failure")  # the scan of its end
    fresh = page.context.new_page()
    fresh.goto(f"/jobs/{job_id}/")
    expect(fresh.locator("#scan-filters")).not_to_contain_text("Reading every failure")
    final = fresh.locator("#failures .count, #failures .empty").first.inner_text()
    expect(page.locator("#failures")).to_contain_text(final.strip())
    fresh.close()
    assert page.evaluate("window.__sameDocument === true")

    seen = len(polls)
    page.wait_for_timeout(POLL_SECONDS * 2000 + 500)
    assert len(polls) == seen, "the summary is still polled after the job ended"


FOLLOW_LEAD_SECONDS = 25  # long enough for a few polls that each bring new failures


LIVE_PARTS = {
    "summary": "#job-summary",
    "groups": "#reason-summary",
    "filters": "#scan-filters",
    "count": "#failures .count",
    "table actions": "#failures .table-actions",
}


def test_the_table_follows_a_running_job_and_every_part_ends_with_it(start_dashboard, new_context):
    now = time.time()
    job_id, ended = growing_job(now, FOLLOW_LEAD_SECONDS, FOLLOW_LEAD_SECONDS - 12)
    server = start_dashboard(SANDBOX_TIME_OFFSET_SECONDS=str(ended - now - FOLLOW_LEAD_SECONDS))
    context = new_context(origin=server.url)
    requests: list[tuple[float, str, str]] = []
    context.on(
        "request",
        lambda request: requests.append(
            (time.monotonic(), request.headers.get("hx-target", ""), path_and_query(request.url))
        ),
    )
    # One reader on the first page (50 rows a page: every failure fits), one on the second.
    first = context.new_page()
    first.goto(f"/jobs/{job_id}/?per_page=50")
    expect(first.locator("#job-summary .badge")).to_have_text("Processing")
    second = context.new_page()
    second.goto(f"/jobs/{job_id}/?page=2")
    for page in (first, second):
        mark_page(page)
    start_rows = len(table_rows(first, "#failures table"))
    second_rows = table_rows(second, "#failures table")
    assert start_rows > 25 and second_rows
    screenshot(first, "live-job-first-page-at-start")
    loaded = time.monotonic()

    # New failures appear on the first page by themselves...
    first.wait_for_function(
        "n => document.querySelectorAll('#failures table tbody tr').length > n",
        arg=start_rows,
        timeout=15_000,
    )
    expect(first.locator("#failures .count")).to_contain_text(
        f"of {len(table_rows(first, '#failures table'))}"
    )
    screenshot(first, "live-job-first-page-grown")
    # ...while the reader of the second page is told of them, and their table stays put.
    notice = second.locator("#failures-news")
    expect(notice).to_contain_text("new failure", timeout=15_000)
    assert table_rows(second, "#failures table") == second_rows
    screenshot(second, "live-job-second-page-notice")
    assert_accessible(second, "a running job's second page, with new failures to show")
    second.get_by_role("link", name="show").click()
    # The new rows come in and the notice goes, in one swap (the job may go on growing, and a
    # later poll tell of newer failures).
    second.wait_for_function(
        """n => document.querySelectorAll('#failures table tbody tr').length > n
               && (document.querySelector('#failures-news')?.textContent ?? '').trim() === ''""",
        arg=len(second_rows),
    )

    # When the job ends, every part of the page shows its end, without a reload.
    expect(first.locator("#job-summary .badge")).to_contain_text(
        "Completed", timeout=FOLLOW_LEAD_SECONDS * 1000
    )
    job_end = time.monotonic()
    expect(first.locator("#scan-filters")).not_to_contain_text("still running", timeout=10_000)
    expect(first.locator("#rows-to-fix")).to_be_visible()
    expect(first.locator("#download-errors")).to_be_visible()
    # What each part shows is what a fresh load of the ended job shows (once its scan is read).
    expect(first.locator("#scan-filters")).not_to_contain_text("Reading every failure")
    screenshot(first, "live-job-ended", full_page=True)
    for page in (first, second):
        assert_same_document(page)
    fresh = context.new_page()
    fresh.goto(f"/jobs/{job_id}/?per_page=50")
    expect(fresh.locator("#scan-filters")).not_to_contain_text("Reading every failure")
    for name, selector in LIVE_PARTS.items():
        shown = " ".join(first.locator(selector).inner_text().split())
        expected = " ".join(fresh.locator(selector).inner_text().split())
        assert shown == expected, f"{name}: {shown!r} is not {expected!r}"
    assert table_rows(first, "#failures table") == table_rows(fresh, "#failures table")

    # While the job ran, each poll was one request: the summary's, nothing beside it (but
    # the table the reader of the second page asked for).
    while_active = [r for r in requests if loaded < r[0] < job_end - 0.5]
    polls = [r for r in while_active if r[1] == "job-summary"]
    others = [r for r in while_active if r[1] != "job-summary" and "page=2" not in r[2]]
    assert len(polls) >= 6, while_active
    assert not others, others
    # And once it has ended, nothing polls.
    settled = len(requests)
    first.wait_for_timeout(POLL_SECONDS * 2000 + 500)
    assert len(requests) == settled, requests[settled:]
