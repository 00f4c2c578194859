"""In a real Chromium: the dashboard works under its Content Security Policy, htmx included.

Paging and filtering swap fragments through htmx; any inline script, inline style, eval or
other resource the policy refuses shows up as a `securitypolicyviolation` event or a console
error, and the test fails on the first one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from dashboard.sandbox.data import SHOWCASE
from tests.e2e.support import CHROMIUM, LAUNCH

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded before any of the page's own scripts run.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI_REQUIRE_SERVICES") == "1":
            pytest.fail("Chromium is required in CI but is not installed")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**LAUNCH)
        yield chromium
        chromium.close()


def watch(page) -> Callable[[], list[str]]:
    """Record from now on what goes wrong in `page`: policy violations, console errors and
    uncaught exceptions. The function returned lists them."""
    page.add_init_script(WATCH)
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return lambda: page.evaluate("window.__violations") + problems


def test_paging_and_filtering_with_htmx_raise_no_csp_violation(user, live_server, browser):
    page = browser.new_page()
    violations = watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "support")
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/jobs/")
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
    assert violations() == []

    # One job: the chunk list arrives by polling, then a chunk and a page are chosen.
    job = SHOWCASE["customers"]
    page.goto(f"{live_server.url}/jobs/{job}/")
    page.wait_for_selector("#chunk option:nth-child(2)", state="attached", timeout=20_000)
    chunk = page.locator("#chunk option").nth(1).get_attribute("value")
    with page.expect_response(lambda r: f"chunk={chunk}" in r.url):
        page.select_option("#chunk", chunk)
    page.wait_for_url(f"**chunk={chunk}*")
    page.goto(f"{live_server.url}/jobs/{job}/")
    with page.expect_response(lambda r: "page=2" in r.url):
        page.click("#failures nav.pager a[rel=next]")
    page.wait_for_url("**page=2*")
    assert page.locator("#failures tbody tr").count() == 25
    page.go_back()
    page.wait_for_url(f"{live_server.url}/jobs/{job}/")
    # htmx's styles are not injected (includeIndicatorStyles is off): the CSS has its own.
    assert page.locator("style").count() == 0
    assert violations() == []
