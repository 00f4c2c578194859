"""A failed or stuck job explains itself, in Chromium: read, accessible, and looked at."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import assert_accessible, screenshot


def test_a_failed_job_of_whole_chunks_gives_their_error(page: Page):
    page.goto(f"/jobs/{SHOWCASE['retryable']}/")
    expect(page.locator("#job-story")).to_contain_text(
        "lost with chunks that failed as a whole", timeout=10_000
    )
    expect(page.locator("#job-story")).to_contain_text("from Meteroid's errors CSV: “")
    expect(page.locator("#failures")).not_to_contain_text("This job has no failures.")
    assert_accessible(page, "failed job of whole chunks")
    screenshot(page, "job-story-whole-chunks")


def test_a_job_pending_for_days_looks_stuck(page: Page):
    page.goto(f"/jobs/{SHOWCASE['pending']}/")
    expect(page.locator("#job-story")).to_contain_text(
        "This job looks stuck: it has been waiting to start for"
    )
    assert_accessible(page, "stuck job")
    screenshot(page, "job-story-stuck")
