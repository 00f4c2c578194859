"""A running job in Chromium: its numbers move by themselves, and the page stops asking once
the job has ended.

Live sandbox jobs run for about three minutes; this test starts a dashboard whose sandbox
clock (SANDBOX_TIME_OFFSET_SECONDS) is set a few seconds before the end of one of them."""

from __future__ import annotations

import time

from playwright.sync_api import Request, expect

from dashboard.sandbox import data
from tests.e2e.support import first_number

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
    # The table is fetched once more when the job ends, with the final count.
    records = first_number(page.locator("#job-summary dd").nth(2).inner_text())
    final = f" of {records:,}" if records else "This job has no failures."
    expect(page.locator("#failures")).to_contain_text(final)
    assert page.evaluate("window.__sameDocument === true")

    seen = len(polls)
    page.wait_for_timeout(POLL_SECONDS * 2000 + 500)
    assert len(polls) == seen, "the summary is still polled after the job ended"
