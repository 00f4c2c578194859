"""One job's page in Chromium: chunk filter and paging swap only the table with the address
bar following, back and forward and a copied link reopen each view, and everything works as
plain links and forms without JavaScript."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import (
    assert_accessible,
    assert_same_document,
    log_in,
    mark_page,
    path_and_query,
    query_of,
    screenshot,
    table_rows,
)

CUSTOMERS = SHOWCASE["customers"]  # 313 failures over 24 chunks, some with more than 25
HOSTILE = SHOWCASE["hostile"]


def chunk_options(page: Page) -> list[tuple[str, str]]:
    """(value, label) of each chunk in the chunk filter, once the chunks have been listed."""
    expect(page.locator("#chunk option").nth(1)).to_be_attached()
    return page.locator("#chunk option").evaluate_all("os => os.slice(1).map(o => [o.value, o.textContent])")


def biggest_chunk(page: Page) -> str:
    """The chunk with the most failures: it fills more than one page."""
    failed = {
        value: int(re.search(r"([\d,]+) failed", label)[1].replace(",", ""))
        for value, label in chunk_options(page)
    }
    chunk = max(failed, key=failed.get)
    assert failed[chunk] > 25
    return chunk


def chunks_shown(page: Page) -> set[str]:
    """The chunk ids of the rows shown (each chunk cell links to its filter)."""
    return set(
        page.locator("table.failures tbody td.chunk a").evaluate_all(
            "as => as.map(a => new URL(a.href).searchParams.get('chunk'))"
        )
    )


def view(page: Page) -> dict:
    """What the page shows: its address, the rows, the chunk chosen and the page marked current."""
    return {
        "url": path_and_query(page.url),
        "rows": table_rows(page, "table.failures"),
        "chunk": page.locator("#chunk").input_value(),
        "per_page": page.locator("select[name=per_page]").input_value(),
        "page": page.locator(".pager [aria-current=page]").inner_text(),
    }


def assert_shows(page: Page, expected: dict) -> None:
    page.wait_for_url(f"**{expected['url']}")
    expect(page.locator(".pager [aria-current=page]")).to_have_text(expected["page"])
    assert view(page) == expected


def open_job(page: Page, job_id: str) -> None:
    page.goto(f"/jobs/{job_id}/")
    expect(page.locator("table.failures")).to_be_visible()


def test_a_job_opens_from_the_list(page: Page):
    page.goto("/jobs/?type=CUSTOMER_CSV_IMPORT&status=COMPLETED_WITH_ERRORS&per_page=100")
    page.get_by_role("link", name=CUSTOMERS).click()
    page.wait_for_url(f"**/jobs/{CUSTOMERS}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Customers import")
    expect(page.locator("#job-summary .badge")).to_have_text("Completed with errors")
    expect(page.locator("table.failures tbody tr").first).to_be_visible()


def test_chunk_and_page_swap_only_the_table_and_the_address_follows(page: Page):
    open_job(page, CUSTOMERS)
    chunk = biggest_chunk(page)
    mark_page(page)
    page.evaluate("document.getElementById('job-summary').dataset.mark = 'kept'")

    page.get_by_label("Chunk").select_option(chunk)
    page.wait_for_url(f"**chunk={chunk}**")
    expect(page.locator("#failures .count")).to_contain_text(f"(chunk {chunk})")
    assert chunks_shown(page) == {chunk}
    first_page = table_rows(page, "table.failures")

    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    assert chunks_shown(page) == {chunk}
    assert not set(table_rows(page, "table.failures")) & set(first_page)
    assert parse_qs(query_of(page)) == {"chunk": [chunk], "page": ["2"]}
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "job-page")

    page.get_by_label("Rows per page").select_option("50")
    page.wait_for_url("**per_page=50**")
    expect(page.locator("#failures .count")).to_contain_text("Failures 1–")
    assert chunks_shown(page) == {chunk}

    assert_same_document(page)
    expect(page.locator("#job-summary")).to_have_attribute("data-mark", "kept")
    assert_accessible(page, "job page, one chunk")


def test_back_and_forward_restore_chunk_page_and_controls(page: Page):
    open_job(page, CUSTOMERS)
    chunk = biggest_chunk(page)
    states = [view(page)]
    page.get_by_label("Chunk").select_option(chunk)
    page.wait_for_url(f"**chunk={chunk}**")
    expect(page.locator("#failures .count")).to_contain_text(chunk)
    states.append(view(page))
    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    states.append(view(page))
    assert len({state["url"] for state in states}) == 3

    for expected in (states[1], states[0]):
        page.go_back()
        assert_shows(page, expected)
    for expected in (states[1], states[2]):
        page.go_forward()
        assert_shows(page, expected)


def test_a_copied_link_opens_the_same_view_after_logging_in(page: Page, anonymous_page: Page, setup):
    open_job(page, CUSTOMERS)
    chunk = biggest_chunk(page)
    page.get_by_label("Chunk").select_option(chunk)
    page.wait_for_url(f"**chunk={chunk}**")
    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    shared = view(page)

    anonymous_page.goto(page.url)
    expect(anonymous_page.get_by_role("heading", name="Log in")).to_be_visible()
    assert_accessible(anonymous_page, "login page")
    log_in(anonymous_page, setup.username, setup.password)
    assert_shows(anonymous_page, shared)


def test_copy_link_copies_the_address_of_the_view_on_screen(new_context, dashboard):
    context = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    open_job(page, CUSTOMERS)
    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    button = page.get_by_role("button", name="Copy link to this view")
    button.click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"{dashboard.url}/jobs/{CUSTOMERS}/?page=2"


def test_long_text_from_user_files_shows_its_start_and_the_whole_on_demand(page: Page):
    open_job(page, HOSTILE)
    cell = page.locator("td.reason:has(.long)").first
    expect(cell.locator(".preview")).to_be_visible()
    whole = cell.locator(".whole")
    expect(whole).to_be_hidden()
    toggle = cell.locator("summary")
    expect(toggle).to_have_text(re.compile(r"^Show all [\d,]+ characters$"), use_inner_text=True)
    toggle.focus()
    page.keyboard.press("Enter")
    expect(whole).to_be_visible()
    expect(cell.locator(".preview")).to_be_hidden()
    assert len(whole.inner_text()) > 2000
    expect(toggle).to_have_text("Show less", use_inner_text=True)
    # A right-to-left override from a file is written out, not obeyed.
    expect(page.locator("#job-summary .file")).to_contain_text("⟨U+202E⟩")
    assert_accessible(page, "job page, hostile text")


@pytest.mark.parametrize("timezone_id", ["America/New_York", "Asia/Kolkata"])
def test_times_are_relative_with_the_exact_local_time_on_hover(new_context, timezone_id):
    page = new_context(timezone_id=timezone_id).new_page()
    open_job(page, CUSTOMERS)
    created = page.locator("#job-summary time").first
    expect(created).to_have_text(re.compile(r"^(\d+ \S+ ago|yesterday|last \S+)$"))
    zone = {"America/New_York": "EST", "Asia/Kolkata": "GMT+5:30"}[timezone_id]
    expect(created).to_have_attribute(
        "title", re.compile(rf"^\w{{3}} \d+, \d{{4}}, \d\d:\d\d:\d\d {re.escape(zone)}$")
    )


def test_without_javascript_chunk_page_and_row_links_are_plain_links_and_forms(new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.goto("/jobs/?type=CUSTOMER_CSV_IMPORT")
    page.get_by_role("link", name=CUSTOMERS).click()
    page.wait_for_url(f"**/jobs/{CUSTOMERS}/")
    # Without the script that polls for it, the chunk list arrives with a reload.
    for _ in range(50):
        if page.locator("#chunk option").count() > 1:
            break
        page.wait_for_timeout(200)
        page.reload()
    chunk = biggest_chunk(page)
    page.get_by_label("Chunk").select_option(chunk)
    page.get_by_label("Rows per page").select_option("50")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**chunk={chunk}**")
    assert parse_qs(query_of(page)) == {"chunk": [chunk], "per_page": ["50"]}
    assert chunks_shown(page) == {chunk}

    page.goto(f"/jobs/{CUSTOMERS}/")
    page.locator(".pager").get_by_role("link", name="Next").click()
    page.wait_for_url("**page=2**")
    expect(page.locator(".pager [aria-current=page]")).to_have_text("2")
    row_chunk = page.locator("table.failures tbody td.chunk a").first
    target = row_chunk.evaluate("a => new URL(a.href).searchParams.get('chunk')")
    expect(row_chunk).to_have_text(re.compile(r"^rows [\d,]+–[\d,]+$"))  # its rows, the id beside
    row_chunk.click()
    page.wait_for_url(f"**chunk={target}**")
    assert chunks_shown(page) == {target}
    expect(page.get_by_role("button", name="Copy link to this view")).to_be_hidden()
