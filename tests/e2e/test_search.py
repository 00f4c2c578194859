"""Search as you type, reason groups, row links and the reasons page together, with the
address bar and the back button in step."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from dashboard.sandbox.data import SHOWCASE

JOB = SHOWCASE["subscriptions"]


def _count(page) -> int:
    text = page.locator("#failures .count").inner_text()
    found = re.search(r"of ([\d,]+)", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_search_groups_and_row_links_work_together_with_the_address_bar(page: Page):
    # The largest groups appear above the table once the scan is done (polling, no reload).
    page.goto(f"/jobs/{JOB}/")
    page.wait_for_selector(".top-reasons a.pattern", timeout=20_000)
    total = _count(page)

    # Typing searches once the typing pauses; the address bar holds the canonical query.
    with page.expect_response(lambda r: "q=plan_6co" in r.url):
        page.locator("#failure-search").press_sequentially("plan_6co", delay=40)
    page.wait_for_url(re.compile(r".*/\?q=plan_6co$"))
    page.wait_for_function("document.querySelector('#failures .count').textContent.includes('matching')")
    found = _count(page)
    assert 0 < found < total

    # A group from the summary: the table shows it, the search box and reason list follow.
    page.locator(".top-reasons a.pattern").first.click()
    page.wait_for_url(re.compile(r".*/\?reason=[0-9a-f]{12}$"))
    page.wait_for_function("!document.querySelector('#failures .count').textContent.includes('matching')")
    assert page.input_value("#failure-search") == ""
    key = page.url.rsplit("=", 1)[1]
    assert page.input_value("#reason") == key
    in_group = _count(page)

    # A row's number links to the row: the page that holds it, marked.
    link = page.locator("td.num a").nth(5)
    row = link.inner_text().replace(",", "")
    link.click()
    page.wait_for_url(re.compile(rf".*row={row}#row-{row}$"))
    page.wait_for_selector(f"tr#row-{row}.is-target")

    # Back: the group again, then the search, with the box showing it.
    page.go_back()
    page.wait_for_url(re.compile(rf".*reason={key}$"))
    page.go_back()
    page.wait_for_url(re.compile(r".*q=plan_6co$"))
    assert page.input_value("#failure-search") == "plan_6co"

    # The reasons page: the chart, and a group's exact reasons fetched when opened.
    page.goto(f"/jobs/{JOB}/reasons/")
    assert page.locator(".reason-chart svg.chart-bar").count() >= 2
    group = page.locator(f"#group-{key}")
    assert group.locator("td.num").nth(1).inner_text().replace(",", "") == str(in_group)
    group.locator("details.exact summary").click()
    group.locator("table.exact-reasons tr").nth(1).wait_for()
    assert group.locator("details.exact").evaluate("details => details.open")
    assert page.locator("style").count() == 0
