"""The jobs list, through the gateway over HTTP to the sandbox."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from dashboard.pages.forms import FIELD_WORDS
from tests.support.helpers import HTMX, htmx, upstream_calls

pytestmark = pytest.mark.django_db


def _job_ids(html: str) -> list[str]:
    return re.findall(r'href="/jobs/(bjob_[0-9A-Za-z]+)/"', html)


def test_it_needs_a_login(client):
    response = client.get("/jobs/?status=FAILED")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/jobs/%3Fstatus%3DFAILED"


def test_the_root_sends_people_to_the_jobs(logged_in):
    response = logged_in.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/jobs/"


def test_it_lists_jobs_newest_first_on_a_whole_page(logged_in):
    response = logged_in.get("/jobs/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and 'id="jobs-table"' in html
    assert "/static/vendor/htmx.min.js" in html
    assert len(_job_ids(html)) == 25
    times = re.findall(r'<time datetime="([^"]+)"', html)
    assert times == sorted(times, reverse=True)


def test_htmx_gets_only_the_table(logged_in):
    response = logged_in.get("/jobs/?page=2", **htmx("jobs-table"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="jobs-table"')
    assert "Accept-Encoding" in response["Vary"] or "HX-Request" in response["Vary"]
    assert "HX-Request" in response["Vary"]


def test_it_filters_by_type_and_several_statuses(logged_in):
    response = logged_in.get(
        "/jobs/?type=CUSTOMER_CSV_IMPORT&status=FAILED&status=COMPLETED_WITH_ERRORS&per_page=100"
    )
    html = response.content.decode()
    assert response.status_code == 200
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)[1:]
    assert rows
    for row in rows:
        assert "Customers import" in row
        assert ("Failed" in row) or ("Completed with errors" in row)
    # The filter is kept in the pager's links and the form.
    assert 'value="FAILED" checked' in html and 'value="COMPLETED_WITH_ERRORS" checked' in html


def test_pages_follow_one_another(logged_in):
    first = _job_ids(logged_in.get("/jobs/?per_page=10").content.decode())
    second = _job_ids(logged_in.get("/jobs/?per_page=10&page=2").content.decode())
    assert len(first) == len(second) == 10
    assert not set(first) & set(second)


def test_the_pager_links_work_with_and_without_htmx(logged_in):
    html = logged_in.get("/jobs/?per_page=10&type=EVENT_CSV_IMPORT").content.decode()
    nav = re.search(r'<nav class="pager".*?</nav>', html, re.S)
    assert nav, "the events imports fill more than one page of 10"
    assert 'href="?type=EVENT_CSV_IMPORT&amp;per_page=10&amp;page=2"' in nav.group(0)
    assert 'hx-boost="true"' in nav.group(0)


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("per_page=7", "per_page"),
        ("type=NOPE", "type"),
        ("status=DONE", "status"),
    ],
)
def test_bad_parameters_get_a_400_page_that_names_them(logged_in, query, name):
    response = logged_in.get(
        f"/jobs/?{query}&type=CUSTOMER_CSV_IMPORT" if name != "type" else f"/jobs/?{query}"
    )
    html = response.content.decode()
    assert response.status_code == 400
    # A sentence that names the parameter as a person knows it, not a form's error.
    assert FIELD_WORDS[name] in html
    assert f"{name}:" not in html and "Select a valid choice" not in html
    assert "Traceback" not in html
    # And a way on: the same list without the bad parameter, keeping the good ones.
    without = "/jobs/?type=CUSTOMER_CSV_IMPORT" if name != "type" else "/jobs/"
    assert f'<a class="button" href="{without}">Show this page without it</a>' in html


def test_a_bad_number_of_rows_per_page_gets_a_sentence(logged_in):
    html = logged_in.get("/jobs/?per_page=1000").content.decode()
    assert "Rows per page can be 10, 25, 50 or 100, not “1000”." in html


def test_a_page_past_the_end_is_not_found(logged_in):
    response = logged_in.get("/jobs/?page=999")
    assert response.status_code == 404
    html = response.content.decode()
    pages = re.search(r"There is no page 999 of this list: the last is (\d+)\.", html)
    assert pages, "says which page is the last"
    last = int(pages.group(1))
    assert f'<a class="button" href="/jobs/?page={last}">Go to page {last}</a>' in html
    assert logged_in.get(f"/jobs/?page={last}").status_code == 200
    assert logged_in.get(f"/jobs/?page={last + 1}").status_code == 404


def test_a_second_view_costs_no_upstream_call(logged_in):
    logged_in.get("/jobs/?page=2")
    before = upstream_calls()
    logged_in.get("/jobs/?page=2")
    logged_in.get("/jobs/?page=2", **HTMX)
    assert upstream_calls() == before


@override_settings(SANDBOX_RATE_500=1.0)
def test_a_meteroid_error_is_a_message_with_a_retry(logged_in):
    response = logged_in.get("/jobs/")
    html = response.content.decode()
    assert response.status_code == 502
    assert "internal error" in html.lower()
    assert "Try again" in html
    assert "Traceback" not in html


@override_settings(SANDBOX_RATE_500=1.0)
def test_a_meteroid_error_in_a_fragment_is_a_fragment(logged_in):
    response = logged_in.get("/jobs/?page=2", **htmx("jobs-table"))
    html = response.content.decode()
    assert response.status_code == 502
    assert "<html" not in html and 'class="problem"' in html


def test_a_rejected_key_says_so_without_showing_it(logged_in, settings):
    from dashboard.sandbox.api.server import sandbox_base_url

    settings.METEROID_BASE_URL = sandbox_base_url()
    settings.METEROID_API_KEY = "pv_live_wrongwrongwrong"
    response = logged_in.get("/jobs/")
    html = response.content.decode()
    assert response.status_code == 502
    assert "rejected the API key" in html
    assert "pv_live_wrongwrongwrong" not in html
    assert "Sandbox data" not in html


def test_the_list_offers_to_open_a_job_by_id_or_link(logged_in):
    html = logged_in.get("/jobs/").content.decode()
    assert '<form class="open-job" method="get" action="/jobs/open/"' in html
    assert '<label for="open-job">Open a job</label>' in html


def test_a_pasted_link_opens_its_job(logged_in):
    job = _job_ids(logged_in.get("/jobs/").content.decode())[0]
    response = logged_in.get("/jobs/open/", {"job": f" http://elsewhere.example/jobs/{job}/?page=3 "})
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job}/"
    assert logged_in.get(response["Location"]).status_code == 200


def test_a_pasted_id_of_no_job_opens_the_job_pages_own_answer(logged_in):
    response = logged_in.get("/jobs/open/", {"job": "bjob_NoSuchJob000000000000"}, follow=True)
    assert response.redirect_chain == [("/jobs/bjob_NoSuchJob000000000000/", 302)]
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<script>alert(1)</script>", "There is no batch job id"),
        ("bjob_A1 and bjob_B2", "names 2 jobs (bjob_A1, bjob_B2); paste one of them."),
    ],
)
def test_text_that_names_no_single_job_gets_a_clear_400(logged_in, text, says):
    response = logged_in.get("/jobs/open/", {"job": text})
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is no job to open." in html and says in html
    assert "<script>alert" not in html


@pytest.mark.parametrize("query", ["", "?job=", "?job=%20%20"])
def test_opening_nothing_goes_back_to_the_list(logged_in, query):
    response = logged_in.get(f"/jobs/open/{query}")
    assert response.status_code == 302
    assert response["Location"] == "/jobs/"


def test_opening_a_job_needs_a_login(client):
    response = client.get("/jobs/open/", {"job": "bjob_A1"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/jobs/open/%3Fjob%3Dbjob_A1"


# --- per_page: Meteroid's list answers with another per_page than it paged by ----------------


@pytest.mark.parametrize("per_page", [10, 25, 50])
def test_the_list_pages_by_the_per_page_it_sent(logged_in, per_page):
    # Without per_page the sandbox, like Meteroid, holds 25 jobs and says 10: a list that did
    # not send it, or paged by what the answer says, would show the wrong rows or pages.
    query = "" if per_page == 25 else f"?per_page={per_page}"
    html = logged_in.get(f"/jobs/{query}").content.decode()
    assert len(_job_ids(html)) == per_page
    total = int(re.search(r"1–[0-9,]+ of ([0-9,]+) jobs", html)[1].replace(",", ""))
    assert f"1–{per_page} of {total:,} jobs" in html
    assert f"page 1 of {-(-total // per_page)}" in html


def test_the_gateway_always_sends_per_page_and_never_pages_by_what_comes_back(logged_in, meteroid):
    from tests.support.upstream import JOBS_PATH, Reply, job_json

    assert logged_in.get("/jobs/").status_code == 200
    assert meteroid.count(JOBS_PATH, per_page="25") == 1  # the default is sent too
    # An answer that says another per_page, and pages counted by it, changes nothing.
    told = {"page": 1, "per_page": 10, "total_items": 60, "total_pages": 6}
    meteroid.script(JOBS_PATH, Reply(200, {"data": [job_json()], "pagination_meta": told}))
    html = logged_in.get("/jobs/?page=2").content.decode()
    assert meteroid.count(JOBS_PATH, per_page="25", page="1") == 1
    assert "26–50 of 60 jobs" in html
    assert "page 2 of 3" in html  # 60 jobs by the 25 it sent, not the 6 pages it was told


def test_a_pasted_link_to_a_filtered_view_lands_on_it_with_its_filters(logged_in):
    job = _job_ids(logged_in.get("/jobs/").content.decode())[0]
    link = f"http://dash.example/jobs/{job}/?chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&q=acme+gmbh&per_page=50&utm_source=mail"
    response = logged_in.get("/jobs/open/", {"job": f"Failing since Monday, see {link}."})
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{job}/?chunk=bjch_7n42DGM5Tflk9n8mt7Fhc7&q=acme+gmbh&per_page=50"


def test_a_pasted_row_link_keeps_its_row_and_invalid_parameters_are_dropped(logged_in):
    job = _job_ids(logged_in.get("/jobs/").content.decode())[0]
    pasted = f"/jobs/{job}/?reason=not-a-key&per_page=1000&row=6501&page=3#row-6501"
    response = logged_in.get("/jobs/open/", {"job": pasted})
    assert response["Location"] == f"/jobs/{job}/?row=6501"
    hostile = f"/jobs/{job}/?q=%3Cscript%3Ealert(1)%3C/script%3E"
    response = logged_in.get("/jobs/open/", {"job": hostile})
    assert response["Location"] == f"/jobs/{job}/?q=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"
