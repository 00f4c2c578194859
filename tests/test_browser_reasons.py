"""In a real Chromium: search as you type, reason groups, row links and the reasons page,
under the Content Security Policy, with the address bar and the back button in step."""

from __future__ import annotations

import re

import pytest

from dashboard.sandbox.data import SHOWCASE
from tests.test_browser_csp import browser, watch  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOB = SHOWCASE["subscriptions"]


def _count(page) -> int:
    text = page.locator("#failures .count").inner_text()
    found = re.search(r"of ([\d,]+)", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def test_search_groups_and_row_links_work_in_a_browser(user, live_server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    violations = watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "support")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/jobs/")

    # The largest groups appear above the table once the scan is done (polling, no reload).
    page.goto(f"{live_server.url}/jobs/{JOB}/")
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
    assert violations() == []

    # The reasons page: the chart, and a group's exact reasons fetched when opened.
    page.goto(f"{live_server.url}/jobs/{JOB}/reasons/")
    assert page.locator(".reason-chart svg.chart-bar").count() >= 2
    group = page.locator(f"#group-{key}")
    assert group.locator("td.num").nth(1).inner_text().replace(",", "") == str(in_group)
    group.locator("details.exact summary").click()
    group.locator("table.exact-reasons tr").nth(1).wait_for()
    assert group.locator("details.exact").evaluate("details => details.open")
    assert page.locator("style").count() == 0
    assert violations() == []
