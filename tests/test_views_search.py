"""Search on the job page: what it matched, said plainly, and an answer on every job."""

from __future__ import annotations

import pytest

from dashboard.sandbox.data import SHOWCASE
from tests.helpers import htmx, wait_for_scan

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["no_failures", "failed_unreadable", "whole_only", "retryable"])
def test_a_search_on_a_job_with_no_failure_records_answers_at_once(logged_in, role):
    job = SHOWCASE[role]
    wait_for_scan(job)
    for headers in ({}, htmx("failures")):
        response = logged_in.get(f"/jobs/{job}/?q=acme", **headers)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Reading every failure of this job" not in html
        assert 'hx-trigger="load delay:1s' not in html
        assert "No failure matching" in html or "Failures 1–" in html


def test_a_search_of_a_job_with_nothing_to_search_says_so_and_why(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['failed_unreadable']}/?q=acme").content.decode()
    note = html[html.index('id="nothing-to-search"') :]
    assert "There is nothing to search here" in note[:300]
    assert "never split into chunks" in note[:600]
