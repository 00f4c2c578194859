"""Refresh on demand: the controls on job and list pages, past the cache, within limits."""

from __future__ import annotations

import time

import pytest

from dashboard.index import status
from dashboard.meteroid.gateway import get_gateway
from dashboard.pages import refresh
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import run_index_scans, upstream_calls, wait_for_scan
from tests.support.live_jobs import growing_job

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]


@pytest.fixture(autouse=True)
def _at_the_start_of_a_minute(clock):
    # The per-person count is per minute: no test straddles two, and none waits for one.
    clock.advance(60 - clock.time() % 60 + 0.05)


def _messages(html: str) -> str:
    start = html.find('<ul class="messages">')
    return html[start : html.find("</ul>", start)] if start >= 0 else ""


def test_the_job_page_has_a_refresh_control_for_this_very_view(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2&per_page=50").content.decode()
    assert (
        f'<form class="refresh" method="post" action="/jobs/{CUSTOMERS}/refresh/?per_page=50&amp;page=2">'
        in html
    )
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_list_page_has_a_refresh_control_for_this_very_view(logged_in):
    html = logged_in.get("/jobs/?status=FAILED").content.decode()
    assert '<form class="refresh" method="post" action="/jobs/refresh/?status=FAILED">' in html


def test_refreshing_a_job_asks_meteroid_again_and_comes_back_to_the_view(logged_in):
    logged_in.get(f"/jobs/{CUSTOMERS}/?page=2")
    before = upstream_calls()
    response = logged_in.post(f"/jobs/{CUSTOMERS}/refresh/?page=2")
    assert response.status_code == 303
    assert response["Location"] == f"/jobs/{CUSTOMERS}/?page=2"
    assert upstream_calls() - before == 2  # the job, and this page of its failures
    html = logged_in.get(response["Location"]).content.decode()
    assert upstream_calls() - before == 2  # the page reads what the refresh fetched
    assert "Refreshed from Meteroid." in _messages(html)


def test_refreshing_an_ended_job_keeps_the_index_of_its_state(logged_in):
    # An ended job's failures are those of its state: only a retry, a new state, changes them.
    first = wait_for_scan(CUSTOMERS)
    logged_in.post(f"/jobs/{CUSTOMERS}/refresh/")
    assert run_index_scans() == 0
    again = wait_for_scan(CUSTOMERS)
    assert (again.index.pk, again.result.finished_at) == (first.index.pk, first.result.finished_at)


def test_refreshing_a_job_whose_scan_failed_scans_it_again(logged_in, settings):
    get_gateway().job(CUSTOMERS)  # cached: only the scan will meet the errors
    settings.SANDBOX_RATE_500 = 1.0
    assert wait_for_scan(CUSTOMERS).state == "failed"
    settings.SANDBOX_RATE_500 = 0.0
    logged_in.get(f"/jobs/{CUSTOMERS}/")
    assert run_index_scans() == 0  # a page shows the failure; it does not try again by itself
    logged_in.post(f"/jobs/{CUSTOMERS}/refresh/")
    assert run_index_scans() == 1
    assert wait_for_scan(CUSTOMERS).state == "done"


def test_refreshing_an_active_job_reads_it_again_at_once(logged_in, settings, monkeypatch):
    lead, grown = 20, 8  # the job is read this long before its end, and refreshed this long
    job_id, ended = growing_job(time.time(), lead, grown)
    settings.METEROID_CACHE_ACTIVE_SECONDS = 0
    monkeypatch.setattr(status, "ACTIVE_FRESH_SECONDS", 3600)  # its index stays fresh meanwhile

    def at(before_end: float) -> None:
        settings.SANDBOX_TIME_OFFSET_SECONDS = ended - time.time() - before_end

    at(lead)
    first = wait_for_scan(job_id)
    at(grown)  # more failures by now
    logged_in.get(f"/jobs/{job_id}/")
    assert run_index_scans() == 0  # the page shows the index it has while that is fresh
    logged_in.post(f"/jobs/{job_id}/refresh/")
    assert run_index_scans() == 1
    again = wait_for_scan(job_id)
    assert again.result.provisional and again.result.scanned > first.result.scanned


def test_refreshing_the_list_asks_meteroid_again(logged_in):
    logged_in.get("/jobs/?status=FAILED&page=1")
    before = upstream_calls()
    response = logged_in.post("/jobs/refresh/?status=FAILED")
    assert response.status_code == 303
    assert response["Location"] == "/jobs/?status=FAILED"
    assert upstream_calls() - before == 1


def test_one_person_cannot_refresh_a_page_again_at_once(logged_in):
    logged_in.post(f"/jobs/{CUSTOMERS}/refresh/")
    before = upstream_calls()
    response = logged_in.post(f"/jobs/{CUSTOMERS}/refresh/")
    assert response.status_code == 303
    assert upstream_calls() == before
    html = logged_in.get(response["Location"]).content.decode()
    assert "it can be refreshed again in 10 s" in _messages(html)


def test_the_wait_is_per_page_and_per_person(logged_in, client, django_user_model):
    logged_in.post(f"/jobs/{CUSTOMERS}/refresh/")
    before = upstream_calls()
    logged_in.post(f"/jobs/{CUSTOMERS}/refresh/?page=2")  # another page
    assert upstream_calls() - before == 2
    other = django_user_model.objects.create_user(username="finance", password="x")
    client.force_login(other)
    client.post(f"/jobs/{CUSTOMERS}/refresh/")  # another person
    assert upstream_calls() - before == 4


def test_a_page_can_be_refreshed_again_after_the_interval(logged_in, settings, clock):
    settings.REFRESH_INTERVAL_SECONDS = 10
    logged_in.post("/jobs/refresh/")
    clock.advance(9)
    before = upstream_calls()
    logged_in.post("/jobs/refresh/")
    assert upstream_calls() == before  # not yet
    clock.advance(1.1)
    logged_in.post("/jobs/refresh/")
    assert upstream_calls() - before == 1


def test_one_person_can_refresh_only_so_many_pages_a_minute(logged_in, settings):
    settings.REFRESH_PER_MINUTE = 2
    logged_in.post("/jobs/refresh/?page=1")
    logged_in.post("/jobs/refresh/?page=2")
    before = upstream_calls()
    response = logged_in.post("/jobs/refresh/?page=3")
    assert upstream_calls() == before
    assert "You have refreshed many pages this minute" in _messages(
        logged_in.get(response["Location"]).content.decode()
    )


def test_a_refresh_while_meteroid_fails_keeps_the_copy_and_says_why(logged_in, settings):
    logged_in.get(f"/jobs/{CUSTOMERS}/")
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.post(f"/jobs/{CUSTOMERS}/refresh/")
    html = logged_in.get(response["Location"]).content.decode()
    assert "Meteroid did not answer (Meteroid had an internal error (HTTP 500)" in _messages(html)
    assert "so the page still shows the copy from 0 seconds ago" in _messages(html)
    assert '<tr id="row-' in html


def test_a_refresh_of_an_expired_page_while_meteroid_fails_shows_the_banner_too(logged_in, settings, clock):
    logged_in.get("/jobs/")
    clock.advance(120)
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.post("/jobs/refresh/")
    html = logged_in.get(response["Location"]).content.decode()
    assert "copy fetched <time" in html and "2 minutes ago</time>" in html


def test_refresh_is_a_post(logged_in):
    assert logged_in.get(f"/jobs/{CUSTOMERS}/refresh/").status_code == 405
    assert logged_in.get("/jobs/refresh/").status_code == 405


def test_refresh_needs_a_login(client):
    response = client.post(f"/jobs/{CUSTOMERS}/refresh/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/jobs/{CUSTOMERS}/refresh/?page=0", 400),
        ("/jobs/refresh/?per_page=7", 400),
        ("/jobs/not-a-job/refresh/", 404),
    ],
)
def test_a_bad_refresh_address_is_refused(logged_in, path, status):
    before = upstream_calls()
    assert logged_in.post(path).status_code == status
    assert upstream_calls() == before


# --- the limits themselves -------------------------------------------------------------------


def test_a_claim_is_refused_with_the_seconds_left(settings):
    settings.REFRESH_INTERVAL_SECONDS = 30
    assert refresh.claim("1", "/jobs/").allowed
    decision = refresh.claim("1", "/jobs/")
    assert not decision.allowed and decision.reason == "page" and 29 <= decision.wait <= 30


def test_a_claim_is_allowed_when_the_cache_fails(monkeypatch):
    class Broken:
        def add(self, *args):
            raise ConnectionError("down")

    monkeypatch.setattr(refresh, "cache", Broken())
    assert refresh.claim("1", "/jobs/").allowed
