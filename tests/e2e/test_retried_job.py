"""A failed job retried in Meteroid, in Chromium: its page goes from "Failed" to "Processing"
(saying that it was retried), follows it live, and shows its new end.

The sandbox retries the job when the test asks its control endpoint (outside the API) of the
dashboard's web process; its worker, whose own sandbox reads the retry from the cache they
share, then scans the job as retried. A failed job's detail lives 2 s here (60 s by default)."""

from __future__ import annotations

import time
import urllib.request

from playwright.sync_api import Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import assert_accessible, assert_same_document, first_number, mark_page, screenshot

JOB = SHOWCASE["retryable"]  # every chunk failed as a whole: FAILED, no failure record
SANDBOX_KEY = "pv_sand_demo0000000000000000"
LIFETIME_SECONDS = 2
RUN_SECONDS = 12


def _retry(base_url: str) -> None:
    request = urllib.request.Request(
        f"{base_url}/sandbox/control/batch-jobs/{JOB}/retry?seconds={RUN_SECONDS}",
        method="POST",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _reload_until(page: Page, status: str, within: float) -> None:
    """Reload the page (as a person would) until its badge says `status`."""
    badge = page.locator("#job-summary .badge")
    deadline = time.monotonic() + within
    while badge.inner_text() != status:
        assert time.monotonic() < deadline, f"still {badge.inner_text()!r} after {within:.0f} s"
        page.wait_for_timeout(300)
        page.reload()


def test_a_retried_job_goes_from_failed_to_processing_to_its_new_end(start_dashboard, new_context):
    server = start_dashboard(METEROID_CACHE_REOPENABLE_SECONDS=str(LIFETIME_SECONDS))
    context = new_context(origin=server.url)
    page = context.new_page()
    page.goto(f"/jobs/{JOB}/")
    badge = page.locator("#job-summary .badge")
    expect(badge).to_have_text("Failed")
    failed_rows = first_number(page.locator("#job-summary dd").nth(1).inner_text())
    assert failed_rows > 0
    expect(page.locator("#job-reopened")).to_have_count(0)

    _retry(server.url)
    # Within the failed job's short lifetime, the page shows it running again, and why.
    _reload_until(page, "Processing", LIFETIME_SECONDS + 5)
    notice = page.locator("#job-reopened")
    expect(notice).to_contain_text("This job was retried")
    expect(notice).to_contain_text("ended failed (")
    expect(notice).to_contain_text(f"with {failed_rows:,} failed rows")
    expect(notice).to_contain_text("processing the failures of its failed chunks again")
    expect(page.locator("#download-errors")).to_have_count(0)
    assert_accessible(page, "retried job")
    screenshot(page, "retried-job")

    listing = context.new_page()
    listing.goto("/jobs/?per_page=100")
    expect(listing.locator(f"tr:has(#job-{JOB}) .badge")).to_have_text("Processing")
    expect(listing.locator(f"tr:has(#job-{JOB}) .retried")).to_have_text("retried")
    assert_accessible(listing, "jobs list with a retried job")
    listing.close()

    # Followed live: the summary polls itself until the job ends again.
    mark_page(page)
    expect(badge).to_have_text("Completed with errors", timeout=(RUN_SECONDS + 15) * 1000)
    assert_same_document(page)
    expect(notice).to_have_count(0)
    summary = page.locator("#job-summary dd")
    failed_again = first_number(summary.nth(1).inner_text())
    assert failed_again < failed_rows
    records = first_number(summary.nth(2).inner_text())
    assert records > 0
    # The poll that sees the end brings the table of every failed row: the failure records
    # and the rows of the chunks that failed as a whole again, read from the errors CSV.
    expect(page.locator("#failures")).to_contain_text(f" of {failed_again:,}")
    expect(page.locator("#job-summary dt").nth(4)).to_have_text("Completed")
