"""Phones and keyboards in Chromium: at 390 px each job and each failure is a block with
nothing cut off; paging is a few Tab presses away, with one tab stop per table row and the
row's other links on the arrow keys; the chunk and reason lists apply a choice when it is
made, not at every arrow key. And reason patterns that are links look like links."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import assert_accessible, page_overflow, screenshot

CUSTOMERS = SHOWCASE["customers"]  # 313 failures over 24 chunks
PHONE = {"width": 390, "height": 844}


def _inside(page: Page, selector: str) -> list[str]:
    """The cells matching `selector` that are not wholly on screen (empty: all are)."""
    return page.locator(selector).evaluate_all(
        """(cells, width) => cells.filter(c => {
            const r = c.getBoundingClientRect();
            return r.width > 0 && (r.left < 0 || r.right > width + 0.5);
        }).map(c => c.textContent.trim().slice(0, 40))""",
        PHONE["width"],
    )


def test_at_390_px_the_jobs_list_shows_each_job_as_a_block(new_context):
    page = new_context(viewport=PHONE).new_page()
    page.goto("/jobs/")
    row = page.locator("table.jobs tbody tr").first
    expect(row).to_be_visible()
    assert page_overflow(page) == 0
    assert page.locator(".scroll").first.evaluate("e => e.scrollWidth <= e.clientWidth")
    # Type, status, failed rows, file and date: all on screen, without scrolling sideways.
    for column, what in [(2, "type"), (3, "status"), (5, "failed rows"), (6, "file"), (7, "date")]:
        assert _inside(page, f"table.jobs tbody td:nth-child({column})") == [], what
    # The type is on the block's first line, its status beside it; the failed rows say what they are.
    type_box, status_box = (row.locator(f"td:nth-child({n})").bounding_box() for n in (2, 3))
    assert type_box and status_box and abs(type_box["y"] - status_box["y"]) < 8
    expect(row.locator("td:nth-child(5)")).to_have_css("display", "block")
    assert "Failed rows: " in row.locator("td:nth-child(5)").evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert_accessible(page, "jobs list at 390 px")
    screenshot(page, "jobs-list-phone")
    # The whole block opens the job: a tap on its type does.
    job_id = row.locator("td:nth-child(1) a").inner_text()
    page.mouse.click(type_box["x"] + 5, type_box["y"] + type_box["height"] / 2)
    page.wait_for_url(f"**/jobs/{job_id}/")


def test_at_390_px_the_job_page_shows_every_failure_whole_with_its_chunk(new_context):
    page = new_context(viewport=PHONE).new_page()
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("table.failures tbody tr").first).to_be_visible()
    assert page_overflow(page) == 0
    assert page.locator(".scroll").first.evaluate("e => e.scrollWidth <= e.clientWidth")
    for cell in ("td.num", "td.ident", "td.reason", "td.chunk"):
        assert _inside(page, f"table.failures tbody {cell}") == [], cell
    expect(page.locator("table.failures tbody td.chunk a").first).to_have_text(
        re.compile(r"^rows [\d,]+–[\d,]+$")
    )
    assert_accessible(page, "job page at 390 px")
    # Once the reasons are counted, each row's group link says how many rows it holds.
    expect(page.locator(".top-reasons")).to_be_visible()
    page.goto(f"/jobs/{CUSTOMERS}/?page=2")
    expect(page.locator("table.failures a.similar").first).to_have_text(
        re.compile(r"^[\d,]+ rows failed this way$")
    )
    page.evaluate(
        "window.scrollTo(0, document.querySelector('#failures').getBoundingClientRect().top + scrollY - 8)"
    )
    screenshot(page, "job-page-phone")


def _tabs_to(page: Page, name: str, limit: int = 200) -> int:
    """Tab presses from the top of the page until a link named `name` has the focus."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            return presses
    raise AssertionError(f"{name} not reached in {limit} Tab presses")


def test_next_is_a_few_tab_presses_away_and_each_row_is_one_tab_stop(page: Page, record_property):
    presses = {}
    for per_page in (25, 100):
        page.goto(f"/jobs/{CUSTOMERS}/?per_page={per_page}" if per_page != 25 else f"/jobs/{CUSTOMERS}/")
        expect(page.locator("#chunk option").nth(1)).to_be_attached()  # the page is settled
        expect(page.locator(".top-reasons")).to_be_visible()
        presses[per_page] = _tabs_to(page, "Next →")
        # The paging above the table is reached before any row.
        assert page.evaluate("document.activeElement.closest('.pager-top') !== null")
        # Then one stop per row: Tab from the first row's link lands on the next row's.
        first = page.locator("table.failures tbody td.num a").first
        first.focus()
        page.keyboard.press("Tab")
        expect(page.locator("table.failures tbody tr").nth(1).locator("td.num a")).to_be_focused()
    record_property("tab_presses_to_next", presses)
    # Was 80 at 25 rows a page, and 227 at 100: now the same few either way.
    assert presses[25] == presses[100] < 30


def test_a_rows_other_links_are_on_the_arrow_keys_and_still_work_by_mouse(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("#chunk option").nth(1)).to_be_attached()
    row = page.locator("table.failures tbody tr").first
    row.locator("td.num a").focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("document.activeElement.closest('td').className")
    assert focused in ("ident", "reason", "chunk")
    # Right to the end of the row: the chunk link, then Enter filters the table to it.
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(row.locator("td.chunk a")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(row.locator("a.similar")).to_be_focused()
    # Down and up: the nearest place in the rows around (a spanned chunk cell is the row above's).
    page.keyboard.press("ArrowDown")
    expect(page.locator("table.failures tbody tr").nth(1).locator("a.similar")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(row.locator("a.similar")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*\?reason=[0-9a-f]{12}$"))
    # By mouse, the links off the tab order work as ever.
    page.goto(f"/jobs/{CUSTOMERS}/")
    page.locator("table.failures tbody td.chunk a").first.click()
    page.wait_for_url("**chunk=bjch_**")


def _htmx_requests(page: Page) -> list[str]:
    seen: list[str] = []

    def note(request: Request) -> None:
        if request.headers.get("hx-request") and "/jobs/" in request.url:
            seen.append(request.url)

    page.on("request", note)
    return seen


def test_arrowing_through_the_chunk_list_asks_nothing_until_a_choice_is_made(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    chunks = page.locator("#chunk option")
    expect(chunks.nth(12)).to_be_attached()
    seen = _htmx_requests(page)
    select = page.locator("#chunk")
    select.focus()
    for _ in range(10):
        page.keyboard.press("ArrowDown")
    wanted = chunks.nth(10).get_attribute("value")
    assert select.input_value() == wanted  # the list moved with the keys…
    # …and Enter applies it: one request, for the chunk chosen (htmx sends a change's
    # request at once, so none of the ten arrow keys sent one).
    with page.expect_response(lambda r: f"chunk={wanted}" in r.url):
        page.keyboard.press("Enter")
    page.wait_for_url(f"**chunk={wanted}**")
    assert [u for u in seen if "chunk=" in u] == [seen[-1]] and len(seen) == 1, seen
    expect(select).to_be_focused()

    # Leaving the list applies what it shows, once.
    seen.clear()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    wanted = chunks.nth(12).get_attribute("value")
    with page.expect_response(lambda r: f"chunk={wanted}" in r.url):
        page.keyboard.press("Tab")
    page.wait_for_url(f"**chunk={wanted}**")
    assert len(seen) == 1, seen

    # A choice made with the mouse applies at once.
    seen.clear()
    wanted = chunks.nth(3).get_attribute("value")
    with page.expect_response(lambda r: f"chunk={wanted}" in r.url):
        select.select_option(wanted)
    assert len(seen) == 1, seen


def test_reason_patterns_that_are_links_look_like_links(page: Page):
    page.goto(f"/jobs/{CUSTOMERS}/")
    link = page.locator(".top-reasons a.pattern").first
    expect(link).to_be_visible()
    accent = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
    style = link.evaluate("a => { const s = getComputedStyle(a); return [s.textDecorationLine, s.color]; }")
    assert style[0] == "underline"
    r, g, b = (int(accent[i : i + 2], 16) for i in (1, 3, 5))
    assert style[1] == f"rgb({r}, {g}, {b})"
    # The values a pattern masks are one click away: its exact reasons, fetched when opened.
    page.locator(".top-reasons details.values summary").first.click()
    expect(page.locator(".top-reasons details.values table.exact-reasons").first).to_be_visible()
    assert_accessible(page, "job page, a pattern's values open")
    page.goto(f"/jobs/{CUSTOMERS}/reasons/")
    for selector in (".reason-chart .chart-label a", "table.reasons .pattern a"):
        assert (
            page.locator(selector).first.evaluate("a => getComputedStyle(a).textDecorationLine")
            == "underline"
        )
