"""The jobs list in Chromium: filters swap only the table, the address bar follows them, and
reload, back and forward show what the address says; without JavaScript the same form works.

Filters here pick failed, cancelled, migration and export jobs: the sandbox's live jobs are
never among them, so the rows hold still while a test runs."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from playwright.sync_api import Page, expect

from tests.e2e.support import (
    assert_accessible,
    assert_same_document,
    mark_page,
    query_of,
    screenshot,
    table_rows,
)

FILTERS = "form.filters"


def controls(page: Page) -> dict:
    """What the filter form shows: the type chosen and the statuses ticked."""
    return page.evaluate(
        """() => ({
            type: document.querySelector('select[name=type]').value,
            status: Array.from(document.querySelectorAll('input[name=status]:checked')).map(b => b.value),
        })"""
    )


def job_ids(page: Page) -> list[str]:
    return page.locator("table.jobs tbody tr td:first-child").all_inner_texts()


def row_cells(page: Page, column: int) -> set[str]:
    return set(page.locator(f"table.jobs tbody tr td:nth-child({column})").all_inner_texts())


def test_filtering_by_status_and_type_swaps_only_the_table_and_the_address_follows(page: Page):
    page.goto("/jobs/")
    expect(page.locator("table.jobs")).to_be_visible()
    screenshot(page, "jobs-list")
    mark_page(page)
    page.get_by_label("Failed").check()
    page.wait_for_url("**/jobs/?*status=FAILED*")
    expect(page.locator("table.jobs tbody tr").first).to_be_visible()
    assert row_cells(page, 3) == {"Failed"}

    page.get_by_label("Type").select_option(label="Events import")
    page.wait_for_url("**type=EVENT_CSV_IMPORT**")
    expect(page.locator("#jobs-table .count")).to_contain_text("matching the filters")
    assert row_cells(page, 2) == {"Events import"}
    assert row_cells(page, 3) == {"Failed"}
    assert_same_document(page)
    query = parse_qs(query_of(page))
    assert query["type"] == ["EVENT_CSV_IMPORT"]
    assert query["status"] == ["FAILED"]

    rows = table_rows(page, "table.jobs")
    page.reload()
    assert controls(page) == {"type": "EVENT_CSV_IMPORT", "status": ["FAILED"]}
    assert table_rows(page, "table.jobs") == rows
    assert_accessible(page, "jobs list, filtered")


def test_a_job_id_pasted_with_the_words_around_it_opens_that_job(page: Page):
    page.goto("/jobs/")
    job = job_ids(page)[3]
    box = page.get_by_label("Open a job")
    box.fill(f"Ticket 4711: import {job} failed for acme")
    box.press("Enter")
    page.wait_for_url(f"**/jobs/{job}/")
    expect(page.locator(".crumbs")).to_contain_text(job)

    page.go_back()
    page.get_by_label("Open a job").fill("acme-1 could not be imported")
    page.get_by_role("button", name="Open", exact=True).click()
    expect(page.locator(".problem")).to_contain_text("There is no batch job id")
    assert_accessible(page, "open a job: nothing to open")


def test_back_and_forward_restore_the_rows_and_the_filter_controls(page: Page):
    page.goto("/jobs/?status=FAILED")
    states = [(page.url, job_ids(page), controls(page))]
    page.get_by_label("Cancelled").check()
    page.wait_for_url("**status=CANCELLED**")
    expect(page.locator("table.jobs tbody tr")).not_to_have_count(len(states[0][1]))
    states.append((page.url, job_ids(page), controls(page)))
    page.get_by_label("Type").select_option(label="Subscriptions import")
    page.wait_for_url("**type=SUBSCRIPTION_CSV_IMPORT**")
    expect(page.locator("table.jobs tbody tr")).not_to_have_count(len(states[1][1]))
    states.append((page.url, job_ids(page), controls(page)))
    assert states[2][2] == {"type": "SUBSCRIPTION_CSV_IMPORT", "status": ["FAILED", "CANCELLED"]}

    for expected in (states[1], states[0]):
        page.go_back()
        _assert_shows(page, *expected)
    for expected in (states[1], states[2]):
        page.go_forward()
        _assert_shows(page, *expected)


def _assert_shows(page: Page, url: str, ids: list[str], filters: dict) -> None:
    page.wait_for_url(url)
    expect(page.locator("table.jobs tbody tr")).to_have_count(len(ids))
    assert job_ids(page) == ids
    assert controls(page) == filters


def test_paging_the_list_swaps_the_table_and_keeps_the_filters(page: Page):
    page.goto("/jobs/?status=FAILED&status=CANCELLED&per_page=10")
    first = job_ids(page)
    mark_page(page)
    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    assert not set(job_ids(page)) & set(first)
    assert row_cells(page, 3) <= {"Failed", "Cancelled"}
    assert_same_document(page)
    assert controls(page)["status"] == ["FAILED", "CANCELLED"]
    assert parse_qs(query_of(page))["per_page"] == ["10"]


def test_a_filter_that_matches_nothing_says_so_and_offers_the_whole_list(page: Page):
    page.goto("/jobs/?type=TAX_REPORT_EXPORT&status=CANCELLED")
    empty = page.locator("#jobs-table .empty")
    expect(empty).to_contain_text("No batch job matches these filters.")
    assert_accessible(page, "jobs list, no match")
    screenshot(page, "jobs-list-empty")
    empty.get_by_role("link", name="Show all jobs").click()
    page.wait_for_url("**/jobs/")
    expect(page.locator("table.jobs tbody tr")).to_have_count(25)


def test_without_javascript_the_filters_are_a_plain_form_and_the_pager_plain_links(new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/jobs/")
    page.get_by_label("Type").select_option(label="Plan migration")
    page.get_by_label("Failed").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**type=SUBSCRIPTION_PLAN_MIGRATION**")
    assert parse_qs(query_of(page))["status"] == ["FAILED"]
    assert row_cells(page, 2) == {"Plan migration"}
    assert row_cells(page, 3) == {"Failed"}
    assert controls(page) == {"type": "SUBSCRIPTION_PLAN_MIGRATION", "status": ["FAILED"]}

    page.goto("/jobs/?per_page=10")
    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    # Server-rendered times are UTC when no script makes them local.
    expect(page.locator("table.jobs time").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
