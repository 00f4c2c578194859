"""One job's page: summary, failures table, chunk filter, through the gateway to the sandbox."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from django.test import override_settings

from dashboard.sandbox.data import SHOWCASE
from tests.helpers import htmx, upstream_calls, wait_for_scan

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]


def _rows(html: str) -> list[tuple[str, str]]:
    """(row number, chunk id) of each failure row shown."""
    return re.findall(r'<tr id="row-(\d+)">.*?>(bjch_[0-9A-Za-z]+)</a>', html, re.S)


def test_it_needs_a_login_and_comes_back_to_the_same_view(client, user):
    url = f"/jobs/{CUSTOMERS}/?per_page=50&page=2"
    response = client.get(url)
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith("/accounts/login/?next=")
    page = client.get(login_url)
    assert page.status_code == 200
    response = client.post(
        "/accounts/login/",
        {"username": "support", "password": "correct horse battery", "next": page.context["next"]},
    )
    assert response.status_code == 302
    assert response["Location"] == url


def test_htmx_requests_of_an_ended_session_send_the_browser_to_login(client):
    response = client.get(
        f"/jobs/{CUSTOMERS}/?page=2",
        **htmx("failures"),
        HTTP_HX_CURRENT_URL=f"http://testserver/jobs/{CUSTOMERS}/?chunk=bjch_x&page=3",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next=/jobs/{CUSTOMERS}/%3Fchunk%3Dbjch_x%26page%3D3"


def test_the_whole_page_has_the_summary_and_the_first_failures(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="job-summary"' in html and 'id="failures"' in html
    rows = _rows(html)
    assert len(rows) == 25
    numbers = [int(n) for n, _ in rows]
    assert numbers == sorted(numbers)
    assert "Errors CSV" in html


def test_htmx_gets_only_the_failures_section(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?page=2", **htmx("failures"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="failures"')
    assert 'id="job-summary"' not in html and "<html" not in html
    assert len(_rows(html)) == 25
    assert "HX-Target" in response["Vary"]


def test_htmx_gets_only_the_summary_when_polling_it(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/", **htmx("job-summary"))
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="job-summary"')
    assert 'id="failures"' not in html
    # A terminal job's summary carries no poll, and tells the table to refresh once.
    assert "every 3s" not in html
    assert response["HX-Trigger"] == "job-finished"


def test_the_full_page_and_the_fragment_show_the_same_rows(logged_in):
    full = _rows(logged_in.get(f"/jobs/{CUSTOMERS}/?page=3&per_page=50").content.decode())
    part = _rows(logged_in.get(f"/jobs/{CUSTOMERS}/?page=3&per_page=50", **htmx("failures")).content.decode())
    assert full == part and len(full) == 50


def test_the_chunk_filter_keeps_only_that_chunks_rows(logged_in):
    status = wait_for_scan(CUSTOMERS)
    assert status.state == "done"
    chunks = status.result.chunks
    assert len(chunks) > 1
    chunk = chunks[1]
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?chunk={chunk.chunk_id}&per_page=100").content.decode()
    rows = _rows(html)
    assert len(rows) == chunk.failures
    assert {c for _, c in rows} == {chunk.chunk_id}
    assert all(chunk.row_start <= int(n) <= chunk.row_end for n, _ in rows)
    assert f'value="{chunk.chunk_id}" selected' in html


def test_the_chunk_list_comes_in_file_order_with_ranges_and_counts(logged_in):
    status = wait_for_scan(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/chunks/").content.decode()
    options = re.findall(
        r'<option value="(bjch_[0-9A-Za-z]+)">rows ([\d,]+)–([\d,]+) · ([\d,]+) failed', html
    )
    assert [o[0] for o in options] == [c.chunk_id for c in status.result.chunks]
    starts = [int(o[1].replace(",", "")) for o in options]
    assert starts == sorted(starts)
    job_failures = sum(int(o[3].replace(",", "")) for o in options)
    total = re.search(r"of ([\d,]+)\s*</p>", logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode(), re.S)
    assert total and job_failures == int(total.group(1).replace(",", ""))


def test_the_chunk_list_shows_progress_until_it_is_ready(logged_in, settings):
    settings.SANDBOX_LATENCY_MS = 200
    html = logged_in.get(f"/jobs/{SHOWCASE['big']}/").content.decode()
    assert "Reading every failure to list chunks and reasons" in html
    assert 'hx-trigger="load delay:1s"' in html
    # The table does not wait for the scan.
    assert len(_rows(html)) == 25


def test_each_rows_chunk_links_to_its_filter(logged_in):
    html = logged_in.get(f"/jobs/{CUSTOMERS}/").content.decode()
    _, chunk_id = _rows(html)[0]
    assert f'<td class="chunk"><a href="?chunk={chunk_id}">' in html
    assert '<tbody hx-boost="true" hx-push-url="true">' in html


def test_paging_back_and_forth_costs_no_upstream_call(logged_in):
    for page in (1, 2, 1, 2):
        logged_in.get(f"/jobs/{CUSTOMERS}/?page={page}", **htmx("failures"))
    before = upstream_calls()
    for page in (1, 2, 1, 2):
        logged_in.get(f"/jobs/{CUSTOMERS}/?page={page}", **htmx("failures"))
    logged_in.get(f"/jobs/{CUSTOMERS}/?page=2")
    assert upstream_calls() == before


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/jobs/not-a-job/", 404, "That is not a batch job id."),
        ("/jobs/bjob_0000000000000000000000/", 404, "No such batch job."),
        (f"/jobs/{CUSTOMERS}/?page=-1", 400, "page:"),
        (f"/jobs/{CUSTOMERS}/?page=abc", 400, "page:"),
        (f"/jobs/{CUSTOMERS}/?per_page=7", 400, "per_page:"),
        (f"/jobs/{CUSTOMERS}/?chunk=nonsense", 400, "chunk:"),
        (
            f"/jobs/{CUSTOMERS}/?chunk=bjch_0000000000000000000000",
            404,
            "This job has no failures in that chunk.",
        ),
        (f"/jobs/{CUSTOMERS}/?page=100000", 404, "There is no page 100,000 of these failures."),
    ],
)
def test_bad_input_gets_a_clear_page_with_the_right_status(logged_in, path, status, text):
    response = logged_in.get(path)
    html = response.content.decode()
    assert response.status_code == status
    assert htmllib.escape(text, quote=False) in html or text in html
    assert "Traceback" not in html


def test_rows_lost_with_whole_chunks_are_explained(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['whole_chunks']}/").content.decode()
    assert "were lost with chunks that failed as a whole" in html


def test_a_job_without_failures_says_so(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['no_failures']}/").content.decode()
    assert "This job has no failures." in html or "lost with whole chunks" in html
    assert '<table class="failures"' not in html


def test_hostile_text_is_shown_escaped(logged_in):
    job = SHOWCASE["hostile"]
    pages = [logged_in.get(f"/jobs/{job}/?per_page=100&page={n}").content.decode() for n in (1, 2, 3)]
    html = "".join(pages)
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x onerror" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@override_settings(SANDBOX_RATE_500=1.0)
def test_an_upstream_error_is_a_message_in_the_page(logged_in):
    response = logged_in.get(f"/jobs/{CUSTOMERS}/")
    assert response.status_code == 502
    assert "Try again" in response.content.decode()


def test_an_upstream_error_on_the_table_keeps_the_summary(logged_in, settings):
    logged_in.get(f"/jobs/{CUSTOMERS}/")  # the job itself is now cached
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get(f"/jobs/{CUSTOMERS}/?page=3")
    html = response.content.decode()
    assert response.status_code == 502
    assert 'id="job-summary"' in html
    assert "The failures could not be loaded." in html


def test_long_text_shows_its_start_with_the_whole_of_it_one_click_away(logged_in):
    html = logged_in.get(f"/jobs/{SHOWCASE['hostile']}/").content.decode()
    assert re.search(r'<details><summary><span class="when-closed">Show all 2,143 characters</span>', html)
    whole = max(re.findall(r'<div class="whole">(.*?)</div>', html, re.S), key=len)
    assert len(htmllib.unescape(whole)) == 2143


def test_characters_that_reorder_text_are_written_out(logged_in):
    job = SHOWCASE["hostile"]
    html = "".join(logged_in.get(f"/jobs/{job}/?per_page=100&page={n}").content.decode() for n in (1, 2))
    assert "\u202e" not in html
    assert "invoice-⟨U+202E⟩gpj.exe" in html
