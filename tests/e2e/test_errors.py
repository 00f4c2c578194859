"""When Meteroid fails, and when there is nothing to show: the message is in the page, and
"Try again" works once Meteroid answers again.

Meteroid here is a second process serving the sandbox over HTTP, which the test stops, and
starts again on the same port."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from dashboard.sandbox.world.data import SHOWCASE
from tests.e2e.server import Dashboard, free_port
from tests.e2e.support import assert_accessible, assert_same_document, mark_page, screenshot

CUSTOMERS = SHOWCASE["customers"]
SANDBOX_KEY = "pv_sand_demo0000000000000000"
UNREACHABLE = "Meteroid could not be reached"


class Meteroid:
    """A stand-in Meteroid on a fixed port, that can go down and come back."""

    def __init__(self, start_dashboard: Callable[..., Dashboard]):
        self._start = start_dashboard
        self.port = free_port()
        self._server = self._start("meteroid", port=self.port, worker=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sandbox"

    def stop(self) -> None:
        self._server.stop()

    def start(self) -> None:
        self._server = self._start("meteroid", port=self.port, worker=False)


def test_an_upstream_error_shows_its_message_and_try_again_works(start_dashboard, new_context):
    meteroid = Meteroid(start_dashboard)
    # No retries: the test is about what the page shows, and waiting through them adds nothing.
    server = start_dashboard(
        METEROID_API_KEY=SANDBOX_KEY, METEROID_BASE_URL=meteroid.base_url, METEROID_MAX_RETRIES="0"
    )
    context = new_context(origin=server.url)
    job_page, list_page = context.new_page(), context.new_page()
    job_page.goto(f"/jobs/{CUSTOMERS}/")
    expect(job_page.locator("#chunk option").nth(1)).to_be_attached()  # the chunk list is done
    mark_page(job_page)

    meteroid.stop()
    # The job is cached, its second page is not: only the table fails.
    job_page.locator(".pager").get_by_role("link", name="Next").click()
    problem = job_page.locator("#failures .problem")
    expect(problem).to_contain_text("The failures could not be loaded.")
    expect(problem).to_contain_text(UNREACHABLE)
    expect(job_page.locator("#job-summary")).to_be_visible()
    assert_same_document(job_page)
    screenshot(job_page, "job-page-upstream-error")
    assert_accessible(job_page, "job page, table failed")
    # A page the dashboard has never fetched fails whole.
    list_page.goto("/jobs/?type=TAX_REPORT_EXPORT&status=FAILED")
    expect(list_page.get_by_role("alert")).to_contain_text(UNREACHABLE)
    assert_accessible(list_page, "jobs list, Meteroid failed")
    screenshot(list_page, "jobs-list-upstream-error")

    meteroid.start()
    problem.get_by_role("link", name="Try again").click()
    expect(job_page.locator(".pager [aria-current=page]")).to_have_text("2")
    expect(job_page.locator("table.failures tbody tr")).to_have_count(25)
    assert job_page.url.endswith(f"/jobs/{CUSTOMERS}/?page=2")
    assert_same_document(job_page)
    list_page.get_by_role("link", name="Try again").click()
    expect(list_page.locator("table.jobs tbody tr").first).to_be_visible()
    assert list_page.url.endswith("/jobs/?type=TAX_REPORT_EXPORT&status=FAILED")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/jobs/bjob_0000000000000000000000/", "No such batch job."),
        ("/jobs/not-a-job/", "That is not a batch job id."),
        (f"/jobs/{CUSTOMERS}/?page=99", "There is no page 99 of these failures: the last is 13."),
        (f"/jobs/{CUSTOMERS}/?chunk=bjch_0000000000000000000000", "This job has no failures in that chunk."),
        ("/jobs/?page=abc", "This address asks for something the dashboard cannot show."),
        ("/nowhere/", "There is nothing at this address."),
    ],
)
def test_not_found_and_bad_addresses_get_a_page_that_says_so(page: Page, path, message):
    response = page.goto(path)
    assert response.status in (400, 404)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(message)
    expect(alert.get_by_role("link", name="Back to batch jobs")).to_be_visible()
    assert_accessible(page, path)
    if path == "/jobs/bjob_0000000000000000000000/":
        screenshot(page, "not-found")
