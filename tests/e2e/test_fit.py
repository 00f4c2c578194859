"""Accessibility and fit in Chromium: axe-core on every kind of page, keyboard use with a
visible focus, the layout from 360 px wide, the dark colour scheme, the loading indicator."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import assert_accessible, page_overflow, screenshot

CUSTOMERS = SHOWCASE["customers"]
NARROW = {"width": 360, "height": 740}

# Every kind of job page: failures, none, lost whole chunks, hostile text, files of an export,
# a file never split, jobs still running or stuck; each once its failures are read.
JOB_ROLES = [
    "customers",
    "no_failures",
    "whole_chunks",
    "hostile",
    "export",
    "failed_unreadable",
    "pending",
    "processing",
    "events",
]
# Tab stops: links in table rows other than the row's own are reached with the arrow keys.
FOCUSABLE = (
    "a[href]:not([tabindex='-1']), button, select, input:not([type=hidden]), summary:not([tabindex='-1'])"
)


def _settled(page: Page, *, scripts: bool = True) -> None:
    """Wait for the page at rest: its table shown and, where scripts run, every failure read by
    the worker and no request in flight (a table is dimmed while it is fetched again, as it is
    until the scan of an ended job is done)."""
    expect(
        page.locator(".table-region table, .table-region .empty, .table-region .problem").first
    ).to_be_visible()
    if not scripts:
        return
    expect(page.locator(".scan-wait, .scan-progress[role=status]")).to_have_count(0, timeout=30_000)
    expect(page.locator("#loading.htmx-request")).to_have_count(0)


def test_the_jobs_list_has_no_serious_accessibility_violations(page: Page):
    page.goto("/jobs/")
    _settled(page)
    assert_accessible(page, "jobs list")
    page.goto("/jobs/?type=TAX_REPORT_EXPORT&per_page=10")
    _settled(page)
    assert_accessible(page, "jobs list, exports")


def test_every_kind_of_job_page_has_no_serious_accessibility_violations(page: Page):
    for role in JOB_ROLES:
        page.goto(f"/jobs/{SHOWCASE[role]}/")
        _settled(page)
        assert_accessible(page, f"job page ({role})")
        # Status in words, never colour alone; tables with a caption and column headers.
        for badge in page.locator(".badge").all():
            assert badge.inner_text().strip(), role
        for table in page.locator("table").all():
            assert table.locator("caption").inner_text().strip(), role
            columns = table.locator("tbody tr").first.locator("td").count()
            assert table.locator("thead th[scope=col]").count() == columns, role


def test_pages_are_accessible_as_a_browser_without_javascript_shows_them(new_context):
    context = new_context()
    context.route("**/*.js", lambda route: route.abort())
    page = context.new_page()
    for path in ("/jobs/", f"/jobs/{CUSTOMERS}/?page=2"):
        page.goto(path)
        _settled(page, scripts=False)
        expect(page.locator("time").first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
        assert_accessible(page, f"{path} without scripts")


def _focus_state(page: Page) -> dict:
    return page.evaluate(
        """() => {
            const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
            return {key: e.dataset.k ?? null, outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
                    onScreen: r.right > 0 && r.bottom > 0 && r.width > 0};
        }"""
    )


@pytest.mark.parametrize(
    "path", ["/jobs/?status=FAILED&status=CANCELLED&per_page=10", f"/jobs/{SHOWCASE['hostile']}/"]
)
def test_every_control_is_reached_by_tab_with_a_visible_focus(page: Page, path):
    page.goto(path)
    _settled(page)
    if page.locator("#chunk").count():
        expect(page.locator("#chunk option").nth(1)).to_be_attached()  # the chunk list is in
    wanted = page.evaluate(
        f"""() => {{
            const all = Array.from(document.querySelectorAll({FOCUSABLE!r}))
                .filter(e => e.getClientRects().length && !e.closest('[hidden]'))
                // What a closed <details> holds is laid out (Chromium) but not focusable.
                .filter(e => e.matches('summary') || !e.closest('details:not([open])'));
            all.forEach((e, i) => e.dataset.k = i);
            return all.map((e, i) => String(i));
        }}"""
    )
    reached, unseen = [], []
    for _ in range(len(wanted) + 3):
        page.keyboard.press("Tab")
        state = _focus_state(page)
        if state["key"] is None:
            continue
        if state["key"] in reached:
            break
        reached.append(state["key"])
        if state["outline"] == "none" or state["width"] < 2 or not state["onScreen"]:
            unseen.append(state)
    assert sorted(reached, key=int) == wanted
    assert reached == sorted(reached, key=int), "tab order differs from reading order"
    assert not unseen, unseen


def test_filters_and_pager_work_from_the_keyboard_and_focus_follows_the_new_table(page: Page):
    page.goto("/jobs/?per_page=10")
    page.get_by_label("Failed").focus()
    page.keyboard.press("Space")
    page.wait_for_url("**status=FAILED**")
    expect(page.get_by_label("Failed")).to_be_focused()
    next_link = page.locator(".pager").get_by_role("link", name="Next")
    next_link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**page=2**")
    expect(page.locator("#jobs-table .count")).to_be_focused()

    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("#chunk option").nth(1)).to_be_attached()
    page.get_by_label("Chunk").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # a key moves through the list; Enter applies the choice
    page.wait_for_url("**chunk=**")
    expect(page.locator("#failures .count")).to_contain_text("(chunk bjch_")


def test_the_layout_holds_at_360_px_with_nothing_to_scroll_sideways(new_context):
    page = new_context(viewport=NARROW).new_page()
    # (path, screenshot, whether the page has a table)
    for path, shot, table in [
        ("/jobs/", "jobs-list-narrow", True),
        (f"/jobs/{CUSTOMERS}/", "job-page-narrow", True),
        (f"/jobs/{SHOWCASE['hostile']}/", None, True),
        ("/jobs/bjob_0000000000000000000000/", None, False),
    ]:
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        assert page_overflow(page) == 0, path
        boxes = page.locator(".scroll")
        if table:
            # The jobs and failures tables lay out their rows as blocks: nothing is cut off.
            expect(boxes.first).to_be_visible()
            assert boxes.first.evaluate("e => e.scrollWidth <= e.clientWidth"), path
        else:
            assert boxes.count() == 0, path
        if shot:
            screenshot(page, shot)
    login = new_context(viewport=NARROW, logged_in=False).new_page()
    login.goto("/accounts/login/")
    assert page_overflow(login) == 0


def _luminance(css_color: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_colour_scheme_follows_the_system(new_context, scheme):
    page = new_context(color_scheme=scheme).new_page()
    page.goto(f"/jobs/{CUSTOMERS}/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.body).color")
    if scheme == "dark":
        assert _luminance(background) < 0.2 < 0.8 < _luminance(text)
        screenshot(page, "job-page-dark")
    else:
        assert _luminance(text) < 0.2 < 0.8 < _luminance(background)


def test_every_htmx_request_shows_the_loading_indicator(page: Page):
    held: list[Route] = []

    def hold(route: Route) -> None:
        if route.request.headers.get("hx-request"):
            held.append(route)
        else:
            route.continue_()

    page.route(re.compile(r"/jobs/"), hold)
    loading = page.locator("#loading")

    def shows_while_waiting(action) -> None:
        action()
        expect(loading).to_have_class(re.compile(r"\bhtmx-request\b"))
        expect(loading).to_have_css("opacity", "1")
        expect(page.locator(".table-region")).to_have_css("opacity", "0.55")
        held.pop().continue_()
        expect(loading).not_to_have_class(re.compile(r"\bhtmx-request\b"))

    page.goto("/jobs/?per_page=10")
    expect(loading).to_have_css("opacity", "0")
    shows_while_waiting(lambda: page.get_by_label("Failed").check())
    shows_while_waiting(lambda: page.locator(".pager").get_by_role("link", name="Next").click())
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("#chunk option").nth(1)).to_be_attached()
    shows_while_waiting(lambda: page.get_by_label("Rows per page").select_option("50"))
    shows_while_waiting(lambda: page.locator(".pager").get_by_role("link", name="Next").click())
