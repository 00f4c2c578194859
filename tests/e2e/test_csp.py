"""The dashboard works under its Content Security Policy, htmx included: logging in, filtering
and paging the list, choosing a chunk and a page of a job. Any inline script, inline style,
eval or other resource the policy refuses fails the test (the guard of conftest.py)."""

from __future__ import annotations

from playwright.sync_api import Page

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import log_in


def test_logging_in_paging_and_filtering_with_htmx_stay_within_the_policy(anonymous_page: Page, setup):
    page = anonymous_page
    page.goto("/accounts/login/")
    log_in(page, setup.username, setup.password)
    page.wait_for_url("**/jobs/")
    assert "script-src 'self'" in page.request.get(page.url).headers["content-security-policy"]

    # Filter the list: htmx swaps the table and pushes the filter into the address bar.
    with page.expect_response(lambda r: "type=CUSTOMER_CSV_IMPORT" in r.url):
        page.select_option("select[name=type]", "CUSTOMER_CSV_IMPORT")
    page.wait_for_url("**/jobs/?type=CUSTOMER_CSV_IMPORT*")
    page.select_option("select[name=type]", "")
    page.wait_for_url("**/jobs/*")
    with page.expect_response(lambda r: "page=2" in r.url):
        page.click("nav.pager a[rel=next]")
    page.wait_for_url("**page=2*")
    assert page.locator("#jobs-table").count() == 1

    # One job: the chunk list arrives by polling, then a chunk and a page are chosen.
    job = SHOWCASE["customers"]
    page.goto(f"/jobs/{job}/")
    page.wait_for_selector("#chunk option:nth-child(2)", state="attached", timeout=20_000)
    chunk = page.locator("#chunk option").nth(1).get_attribute("value")
    with page.expect_response(lambda r: f"chunk={chunk}" in r.url):
        page.select_option("#chunk", chunk)
    page.wait_for_url(f"**chunk={chunk}*")
    page.goto(f"/jobs/{job}/")
    with page.expect_response(lambda r: "page=2" in r.url):
        page.click("#failures nav.pager a[rel=next]")
    page.wait_for_url("**page=2*")
    assert page.locator("#failures tbody tr").count() == 25
    page.go_back()
    page.wait_for_url(f"**/jobs/{job}/")
    # htmx's styles are not injected (includeIndicatorStyles is off): the CSS has its own.
    assert page.locator("style").count() == 0
