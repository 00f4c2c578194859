"""Support's story in Chromium: a customer's alias typed into the top bar finds the row that
failed, which opens in its job; the link to it, opened by someone logged out, lands on that
row once they log in."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.support import assert_accessible, log_in, screenshot

CUSTOMERS = SHOWCASE["customers"]


def test_an_alias_typed_in_the_top_bar_leads_to_its_row_and_a_link_to_it(new_context, dashboard, setup):
    page = new_context(permissions=["clipboard-read", "clipboard-write"]).new_page()
    page.goto(f"/jobs/{CUSTOMERS}/")
    expect(page.locator("table.failures")).to_be_visible()  # the job is indexed
    body = page.request.get(f"/jobs/{CUSTOMERS}/failures.csv").text()
    alias = next(
        row["identifier"] for row in csv.DictReader(io.StringIO(body.lstrip("\ufeff"))) if row["identifier"]
    )

    page.goto("/jobs/")
    page.get_by_role("searchbox", name=re.compile("Find a customer")).fill(alias)
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=**")
    # The sandbox's catalogue jobs end at a fixed date: "any time" keeps them in the window
    # whatever the date the test runs on.
    page.locator("form.search-across select[name=days]").select_option("0")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**days=0**")
    found = page.locator(f".found-job:has(h2 a[href='/jobs/{CUSTOMERS}/'])")
    expect(found.locator("td.identifier mark.hit").first).to_have_text(alias)
    expect(found.locator(".badge", has_text="exact match").first).to_be_visible()
    expect(page.locator(".coverage .count")).to_contain_text(
        re.compile(r"^Searched [\d,]+ of the [\d,]+ jobs")
    )
    assert_accessible(page, "search across jobs")
    screenshot(page, "search-across-jobs")

    link = found.locator("td.num a").first
    row = link.inner_text().replace(",", "")
    link.click()
    page.wait_for_url(f"**/jobs/{CUSTOMERS}/?row={row}")
    expect(page.locator("tr.is-target")).to_contain_text(alias)
    page.get_by_role("button", name="Copy link to this view").click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    shared = page.evaluate("navigator.clipboard.readText()")
    assert shared == f"{dashboard.url}/jobs/{CUSTOMERS}/?row={row}"

    stranger = new_context(logged_in=False).new_page()
    stranger.goto(shared)
    expect(stranger.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(stranger, setup.username, setup.password)
    stranger.wait_for_url(f"**/jobs/{CUSTOMERS}/?row={row}")
    expect(stranger.locator("tr.is-target")).to_contain_text(alias)
