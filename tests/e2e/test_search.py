"""Search on a job page in Chromium: exact identifiers first and marked as such, what was
matched highlighted, and a job with nothing to search answering at once."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import assert_accessible, screenshot

CUSTOMERS = SHOWCASE["customers"]


def _prefix_pair(page: Page) -> tuple[str, str]:
    """Two identifiers of the job's failures, the first held in the second."""
    body = page.request.get(f"/jobs/{CUSTOMERS}/failures.csv").text()
    rows = csv.DictReader(io.StringIO(body.lstrip("\ufeff")))
    ids = sorted({row["identifier"] for row in rows if row["identifier"]})
    pairs = [(x, y) for x in ids for y in ids if x != y and x.casefold() in y.casefold()]
    assert pairs
    return pairs[0]


def test_typing_an_identifier_shows_the_exact_match_first_and_highlights_matches(page: Page):
    exact, longer = _prefix_pair(page)
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("table.failures")).to_be_visible()
    page.locator("#failure-search").fill(exact)
    first = page.locator("table.failures tbody tr").first
    expect(first.locator(".exact-match")).to_have_text("exact match")
    expect(page.locator("#match-note")).to_contain_text("exactly this identifier")
    expect(page.locator("table.failures td.ident mark.hit").first).to_have_text(exact)
    idents = page.locator("table.failures td.ident").all_inner_texts()
    assert any(longer in text and "exact match" not in text for text in idents)
    assert_accessible(page, "search with an exact match")
    screenshot(page, "search-exact-match")

    page.locator("#failure-search").fill(longer[:-1])
    expect(page.locator("#match-note")).to_have_text(
        re.compile(r"^No row has exactly this identifier; \d+ contains? it\.$")
    )
    expect(page.locator(".exact-match")).to_have_count(0)
    screenshot(page, "search-contains-only")


def test_a_search_of_a_failed_job_without_records_answers_at_once(page: Page):
    page.goto(f"/jobs/{SHOWCASE['failed_unreadable']}/")
    expect(page.locator("#job-story")).to_contain_text("never split into chunks")
    page.locator("#failure-search").fill("acme")
    expect(page.locator("#nothing-to-search")).to_be_visible(timeout=5000)
    expect(page.locator(".scan-wait")).to_have_count(0)
    assert_accessible(page, "failed job searched")
    screenshot(page, "failed-job-story", full_page=True)


def test_choosing_a_chunk_makes_the_reason_counts_the_chunks(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("#chunk option").nth(1)).to_be_attached()
    options = page.locator("#chunk option").evaluate_all(
        "os => os.slice(1).map(o => [o.value, o.textContent])"
    )
    failed = {
        value: int(re.search(r"([\d,]+) failed", label)[1].replace(",", "")) for value, label in options
    }
    chunk = max(failed, key=failed.get)
    page.locator("#chunk").select_option(chunk)
    page.wait_for_url(f"**chunk={chunk}")
    expect(page.locator("#reason-summary-title")).to_have_text("Most common reasons in this chunk")
    expect(page.locator("#reason option").first).to_contain_text("All reasons in this chunk")
    assert page.locator("#reason").input_value() == ""  # the swapped-in choices keep "All reasons"
    counts = page.locator("#reason option").evaluate_all(
        "os => os.slice(1).map(o => Number((o.textContent.match(/· ([0-9,]+)$/) || [0, '0'])[1].replace(/,/g, '')))"
    )
    assert sum(counts) == failed[chunk]
    expect(page.locator(".count")).to_contain_text(f"of {failed[chunk]}")
    assert_accessible(page, "a chunk chosen")
    screenshot(page, "chunk-reason-counts")
