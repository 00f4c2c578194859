"""Stale beats broken, as people see it: an old copy with a banner that says how old and why.

The report (dashboard.meteroid.freshness), the StaleNotice middleware that opens it and adds
the banner to htmx fragments, and the pages, through the gateway to the sandbox over HTTP.
"""

from __future__ import annotations

import re
import time

import pytest

from dashboard.meteroid import cache, freshness
from dashboard.meteroid.cache import Stale
from dashboard.meteroid.errors import ErrorKind
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, later, upstream_calls

CUSTOMERS = SHOWCASE["customers"]
EIGHT_HOURS = 8 * 3600 + 30


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 seconds"),
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "1 minute"),
        (3599, "59 minutes"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (3 * 86400 + 5, "3 days"),
    ],
)
def test_ages_are_told_in_one_unit(seconds, text):
    assert freshness.describe_age(seconds) == text


def test_a_report_names_the_oldest_copy_and_the_latest_reason():
    now = time.time()
    with freshness.collecting() as report:
        freshness.note(None)
        freshness.note(Stale(now - 600, "first", ErrorKind.UNAVAILABLE))
        freshness.note(Stale(now - 60, "second", ErrorKind.UPSTREAM))
    assert report.answers == 3
    assert report.age == "10 minutes"
    assert report.reason == "second"
    assert report.fetched_at.timestamp() == pytest.approx(now - 600)
    assert freshness.current() is None


def test_outside_a_request_nothing_is_noted():
    freshness.note(Stale(time.time(), "x", ErrorKind.UNAVAILABLE))
    assert freshness.current() is None


def test_an_empty_report_is_falsy():
    with freshness.collecting() as report:
        freshness.note(None)
    assert not report and report.oldest is None and report.age == "" and report.reason == ""


# --- pages -----------------------------------------------------------------------------------


def _banner(html: str) -> str:
    match = re.search(r'<div id="stale-banner"[^>]*>(.*?)</div>', html, re.S)
    assert match, "no banner element"
    return match.group(0)


@pytest.mark.django_db
def test_a_fresh_page_has_a_hidden_banner(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    banner = _banner(html)
    assert " hidden" in banner and "Meteroid did not answer" not in banner


@pytest.mark.django_db
def test_when_meteroid_fails_the_job_page_is_an_old_copy_with_a_banner(logged_in, settings, monkeypatch):
    fresh = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode()
    later(monkeypatch, EIGHT_HOURS)  # past the terminal lifetime (6 h), within the stale one
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2")
    html = response.content.decode()
    assert response.status_code == 200
    banner = _banner(html)
    assert " hidden" not in banner
    assert "Meteroid did not answer, so this shows a copy fetched <time" in banner
    assert "Meteroid had an internal error (HTTP 500)" in banner
    assert re.search(
        r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="[^"]+ UTC">8 hours ago</time>', banner
    )
    rows = re.findall(r'<tr id="row-(\d+)">', html)
    assert rows == re.findall(r'<tr id="row-(\d+)">', fresh) and len(rows) == 25


@pytest.mark.django_db
def test_the_job_list_is_an_old_copy_with_a_banner(logged_in, settings, monkeypatch):
    logged_in.get("/jobs/?status=FAILED")
    later(monkeypatch, 60)
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get("/jobs/?status=FAILED")
    assert response.status_code == 200
    assert "1 minute ago</time>" in _banner(response.content.decode())


@pytest.mark.django_db
def test_while_meteroid_fails_old_copies_are_served_without_asking_each_time(
    logged_in, settings, monkeypatch
):
    logged_in.get(f"/jobs/{CUSTOMERS}/")
    logged_in.get(f"/jobs/{CUSTOMERS}/?page=2")
    later(monkeypatch, EIGHT_HOURS)
    settings.SANDBOX_RATE_500 = 1.0
    logged_in.get(f"/jobs/{CUSTOMERS}/")
    before = upstream_calls()
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2").content.decode()
    assert upstream_calls() == before
    assert "Meteroid had an internal error" in _banner(html)


@pytest.mark.django_db
def test_an_htmx_fragment_from_an_old_copy_carries_the_banner_out_of_band(logged_in, settings, monkeypatch):
    logged_in.get(f"/jobs/{CUSTOMERS}/?page=3", **htmx("failures"))
    later(monkeypatch, EIGHT_HOURS)
    settings.SANDBOX_RATE_500 = 1.0
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?page=3", **htmx("failures")).content.decode()
    assert html.lstrip().startswith('<section id="failures"')
    banner = _banner(html)
    assert 'hx-swap-oob="true"' in banner and "8 hours ago" in banner


@pytest.mark.django_db
def test_a_fresh_htmx_fragment_hides_the_banner_out_of_band(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?page=3", **htmx("failures")).content.decode()
    banner = _banner(html)
    assert 'hx-swap-oob="true"' in banner and " hidden" in banner


@pytest.mark.django_db
def test_without_an_old_copy_the_failure_is_shown_as_before(logged_in, settings):
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get(f"/jobs/{CUSTOMERS}/")
    assert response.status_code == 502
    assert "Meteroid had an internal error" in response.content.decode()


@pytest.mark.django_db
def test_when_meteroid_answers_again_the_banner_goes(logged_in, settings, clock):
    logged_in.get(f"/jobs/{CUSTOMERS}/")
    clock.advance(EIGHT_HOURS)
    settings.SANDBOX_RATE_500 = 1.0
    assert "8 hours ago" in logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    settings.SANDBOX_RATE_500 = 0.0
    clock.advance(cache.OUTAGE_SECONDS + 1)  # past the outage note
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    assert " hidden" in _banner(html)
