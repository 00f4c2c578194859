"""Logging in and out in Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.support import assert_accessible, log_in, screenshot


def test_logging_in_leads_to_the_page_asked_for_and_logging_out_ends_the_session(anonymous_page: Page, setup):
    page = anonymous_page
    page.goto("/jobs/?status=FAILED")
    page.wait_for_url("**/accounts/login/?next=**")
    expect(page.get_by_label("User name")).to_be_focused()
    screenshot(page, "login")
    assert_accessible(page, "login page")

    log_in(page, setup.username, "not the password")
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username and password")
    expect(page.get_by_label("User name")).to_have_value(setup.username)
    assert_accessible(page, "login page, wrong password")

    log_in(page, setup.username, setup.password)
    page.wait_for_url("**/jobs/?status=FAILED")
    expect(page.locator("header .who")).to_have_text(setup.username)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto("/jobs/")
    page.wait_for_url("**/accounts/login/?next=/jobs/")


def test_logging_in_works_without_javascript(new_context, setup):
    page = new_context(logged_in=False, java_script_enabled=False).new_page()
    page.goto("/jobs/?type=TAX_REPORT_EXPORT")
    log_in(page, setup.username, setup.password)
    page.wait_for_url("**/jobs/?type=TAX_REPORT_EXPORT")
    expect(page.locator("table.jobs tbody tr").first).to_be_visible()
