"""A Meteroid too slow for a page: the page comes back at its deadline with the job's summary
and says so, and the failures table fills in by itself once Meteroid answers, without a reload.

Meteroid here is the scripted one of tests/support/upstream.py, in this process, sleeping 40 s on the
failures endpoint until the test heals it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.support import assert_accessible, assert_same_document, mark_page
from tests.support.upstream import FAKE_KEY, JOB, FakeMeteroid, Reply, failures_path

DEADLINE = 1.5  # shorter than the default 8 s, for the test's sake


@pytest.fixture
def slow_meteroid() -> Iterator[FakeMeteroid]:
    fake = FakeMeteroid()
    fake.script(failures_path(), Reply(200, {"data": [], "total_count": 0}, delay=40))
    yield fake
    fake.close()


def test_a_slow_table_loads_by_itself_once_meteroid_answers(start_dashboard, new_context, slow_meteroid):
    server = start_dashboard(
        METEROID_API_KEY=FAKE_KEY,
        METEROID_BASE_URL=slow_meteroid.base_url,
        METEROID_REQUEST_DEADLINE_SECONDS=str(DEADLINE),
    )
    page = new_context(origin=server.url).new_page()

    started = time.monotonic()
    page.goto(f"/jobs/{JOB}/")
    assert time.monotonic() - started < DEADLINE + 1.5
    expect(page.locator("#job-summary")).to_contain_text("customers.csv")
    problem = page.locator("#failures .problem")
    expect(problem).to_contain_text("Meteroid is slow")
    expect(problem.get_by_role("link", name="Try again")).to_be_visible()
    assert_accessible(page, "job page, Meteroid slow")
    mark_page(page)

    slow_meteroid.heal()

    # The region asks again 5 s after it was shown (each ask bounded by the deadline).
    expect(page.locator("#failures table.failures tbody tr").first).to_contain_text(
        "cus_00000", timeout=15_000
    )
    expect(page.locator("#failures .problem")).to_have_count(0)
    assert_same_document(page)
