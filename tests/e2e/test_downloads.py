"""A job's files arrive in the browser with the right name and rows."""

from __future__ import annotations

import csv

from playwright.sync_api import Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import first_number

CUSTOMERS = SHOWCASE["customers"]
EXPORT = SHOWCASE["export"]


def _download(page: Page, name: str) -> tuple[str, list[list[str]]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=name, exact=True).click()
    download = info.value
    assert download.failure() is None
    with open(download.path(), newline="", encoding="utf-8") as file:
        return download.suggested_filename, list(csv.reader(file))


def test_the_errors_csv_and_the_input_file_arrive_with_their_names_and_rows(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    records = first_number(page.locator("#job-summary dd").nth(2).inner_text())
    processed = first_number(page.locator("#job-summary dd").first.inner_text())

    name, rows = _download(page, "Errors CSV")
    assert name == f"{CUSTOMERS}-errors.csv"
    assert rows[0][-1] == "_error"
    # Every failed row but the 3 that do not parse as CSV: Meteroid leaves those out.
    assert records == 313
    assert len(rows) - 1 == records - 3
    assert all(row[-1] for row in rows[1:])

    name, rows = _download(page, "Input file")
    assert name == page.locator("#job-summary .file").inner_text()
    assert len(rows) - 1 == processed
    expect(page.locator("table.failures")).to_be_visible()  # the page stayed where it was


def test_an_exports_output_file_arrives(page: Page):
    page.goto(f"/jobs/{EXPORT}/")
    expect(page.get_by_role("link", name="Input file", exact=True)).to_have_count(0)
    name, rows = _download(page, "Output file")
    assert name == f"{EXPORT}-output.csv"
    assert len(rows) - 1 == first_number(page.locator("#job-summary dd").first.inner_text())


def test_the_rows_to_fix_of_one_reason_group_arrive_from_the_job_page(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    # The largest group, from the list above the table; the table swaps to its failures.
    page.locator(".top-reasons a.pattern").first.click()
    page.wait_for_url("**reason=*")
    count = first_number(page.locator("#failures .count").inner_text().split(" of ")[1])

    name, rows = _download(page, "Rows to fix, from the input file")
    key = page.url.split("reason=")[1][:12]
    assert name == f"{CUSTOMERS}-rows-to-fix-reason-{key}.csv"
    assert rows[0][-1] == "_error"
    assert len(rows) - 1 == count
    assert {row[-1].split("'")[0] for row in rows[1:]} == {"Duplicate alias "}
