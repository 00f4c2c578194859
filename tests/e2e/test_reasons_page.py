"""The reasons page in Chromium: the groups arrive after the scan with their chart, a pattern
expands into its exact reasons in place, a group leads to the job page filtered by it and back,
the group's files arrive with their names and rows, and the job page searches as you type."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Download, Locator, Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import (
    assert_accessible,
    assert_same_document,
    mark_page,
    query_of,
    screenshot,
    table_rows,
)

CUSTOMERS = SHOWCASE["customers"]  # 313 failures over 24 chunks, 11 reason groups
GROUPS = 11
SCAN_TIMEOUT = 30_000  # the first visit waits for the background scan of every failure
BOM = b"\xef\xbb\xbf"


def open_reasons(page: Page) -> None:
    """The customers job's reasons page, once the scan has grouped its failures."""
    page.goto(f"/jobs/{CUSTOMERS}/reasons/")
    expect(page.locator("table.reasons tbody tr").first).to_be_visible(timeout=SCAN_TIMEOUT)


def group_key(row: Locator) -> str:
    return row.get_attribute("id").removeprefix("group-")


def group_count(row: Locator) -> int:
    """The failures of a group as its row on the reasons page counts them."""
    return int(row.locator("td.num").nth(1).inner_text().replace(",", ""))


def total_shown(page: Page) -> int:
    """The N of `Failures 1-25 of N ...` above the job page's table."""
    text = page.locator("#failures .count").inner_text()
    found = re.search(r"of ([\d,]+)", text)
    assert found, text
    return int(found[1].replace(",", ""))


def read_csv(download: Download) -> tuple[bytes, list[list[str]]]:
    assert download.failure() is None
    data = Path(download.path()).read_bytes()
    return data, list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_reasons_page_shows_its_groups_and_chart_and_is_accessible(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/reasons/")
    expect(page.locator("table.reasons")).to_be_visible(timeout=SCAN_TIMEOUT)
    expect(page.locator("table.reasons tbody tr")).to_have_count(GROUPS)
    expect(page.locator("#reasons .count")).to_contain_text(f"313 failures share {GROUPS} patterns")
    chart = page.locator("figure.reason-chart")
    expect(chart).to_be_visible()
    assert chart.locator("svg.chart-bar").count() >= 2
    expect(chart.locator("svg.chart-bar rect").first).to_have_attribute("width", re.compile(r"^[1-9]"))
    assert_accessible(page, "reasons page")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "reasons-page")


def test_a_pattern_expands_into_its_exact_reasons_in_place(page: Page):
    open_reasons(page)
    row = page.locator("table.reasons tbody tr").first
    key = group_key(row)
    distinct = int(re.match(r"[\d,]+", row.locator("details.exact summary").inner_text())[0].replace(",", ""))
    mark_page(page)

    row.locator("details.exact summary").click()
    exact = page.locator(f"#exact-{key} table.exact-reasons tbody tr")
    expect(exact.first).to_be_visible()
    assert 1 <= exact.count() <= min(distinct, 15)
    assert all(text.strip() for text in exact.locator("td.reason").all_inner_texts())
    assert row.locator("details.exact").evaluate("details => details.open")
    assert page.url.endswith(f"/jobs/{CUSTOMERS}/reasons/")
    assert_same_document(page)


def test_a_group_leads_to_the_job_page_filtered_by_it_and_back(page: Page):
    open_reasons(page)
    row = page.locator("table.reasons tbody tr").nth(1)
    key, count = group_key(row), group_count(row)

    row.locator("p.pattern a").click()
    page.wait_for_url(f"**/jobs/{CUSTOMERS}/?reason={key}")
    expect(page.locator("#failures .count")).to_contain_text("with the reason")
    assert parse_qs(query_of(page)) == {"reason": [key]}
    assert total_shown(page) == count
    expect(page.locator("#reason")).to_have_value(key)
    assert len(table_rows(page, "table.failures")) == min(count, 25)

    page.go_back()
    page.wait_for_url(f"**/jobs/{CUSTOMERS}/reasons/")
    expect(page.locator(f"#group-{key}")).to_be_visible()


def test_a_groups_failures_and_the_reasons_arrive_as_csv(page: Page):
    open_reasons(page)
    rows = page.locator("table.reasons tbody tr")
    row = rows.first
    key, count = group_key(row), group_count(row)

    with page.expect_download() as info:
        page.get_by_role("link", name="Reasons CSV").click()
    data, lines = read_csv(info.value)
    assert info.value.suggested_filename == f"{CUSTOMERS}-reasons.csv"
    assert data.startswith(BOM)
    assert lines[0][:2] == ["pattern", "failures"]
    assert len(lines) - 1 == rows.count() == GROUPS
    assert lines[1][10] == key  # largest first, as on the page

    page.goto(f"/jobs/{CUSTOMERS}/?reason={key}")
    link = page.locator("#failures").get_by_role("link", name=re.compile(r"^Download [\d,]+ as CSV$"))
    expect(link).to_have_text(f"Download {count:,} as CSV")
    with page.expect_download() as info:
        link.click()
    data, lines = read_csv(info.value)
    assert info.value.suggested_filename == f"{CUSTOMERS}-failures-reason-{key}.csv"
    assert data.startswith(BOM)
    assert lines[0] == ["row", "identifier", "reason", "pattern", "chunk_id", "job_id"]
    assert len(lines) - 1 == count
    assert {line[5] for line in lines[1:]} == {CUSTOMERS}


def test_typing_in_the_search_box_swaps_only_the_table(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("table.failures")).to_be_visible()
    total = total_shown(page)
    identifiers = [
        text for text in page.locator("table.failures tbody td.ident").all_inner_texts() if text != "none"
    ]
    term = identifiers[0].strip()
    mark_page(page)
    page.evaluate("document.getElementById('job-summary').dataset.mark = 'kept'")

    page.locator("#failure-search").press_sequentially(term, delay=50)
    # A pause in typing may send a request for the start of the term: wait for the whole.
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query) == {"q": [term]})
    expect(page.locator("#failures .count .search-term")).to_have_text(term)
    expect(page.locator("#failure-search")).to_have_value(term)
    found = total_shown(page)
    assert 0 < found < total
    assert found <= 25, f"{term!r} matches more than a page"
    assert len(table_rows(page, "table.failures")) == found
    idents = page.locator("table.failures tbody td.ident").all_inner_texts()
    reasons = page.locator("table.failures tbody td.reason").all_inner_texts()
    assert all(term.lower() in (i + r).lower() for i, r in zip(idents, reasons, strict=True))
    assert_same_document(page)
    expect(page.locator("#job-summary")).to_have_attribute("data-mark", "kept")
