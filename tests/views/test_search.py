"""Search on the job page: what it matched, said plainly, and an answer on every job."""

from __future__ import annotations

import html as htmllib
import re

import pytest

from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, wait_for_scan
from tests.support.index_reading import every_failure, job_failures

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


CUSTOMERS = SHOWCASE["customers"]


def _prefix_pair(job: str) -> tuple[str, str]:
    """Two identifiers of the job's failures, the first held in the second (like
    `umbra-systems-13` in `umbra-systems-137`)."""
    failures = every_failure(job_failures(job).select())
    ids = sorted({f.item_identifier for f in failures if f.item_identifier})
    pairs = [(x, y) for x in ids for y in ids if x != y and x.casefold() in y.casefold()]
    assert pairs, "the demo job has no identifier held in another"
    return pairs[0]


def _identifiers(html: str) -> list[str]:
    cells = re.findall(r'<td class="ident">(.*?)</td>', html, re.S)
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in cells]


def test_an_exact_identifier_comes_first_and_is_marked_as_such(logged_in):
    exact, longer = _prefix_pair(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?q={exact}", **htmx("failures")).content.decode()
    shown = _identifiers(html)
    assert shown[0] == f"{exact} exact match"
    assert f"{longer}" in shown and "exact match" not in shown[shown.index(longer)]
    note = re.search(r'<p class="match-note" id="match-note">(.*?)</p>', html).group(1)
    marked = r"\d+ rows? (has|have) exactly this identifier \(first, marked “exact match”\); then \d"
    assert re.match(marked, htmllib.unescape(note))
    exact_rows = int(note.split()[0])
    assert all(s.endswith(" exact match") for s in shown[:exact_rows])
    assert not any(s.endswith(" exact match") for s in shown[exact_rows:])
    assert f'<mark class="hit">{exact}</mark>' in html


def test_a_search_that_only_contains_says_so_rather_than_look_like_the_answer(logged_in):
    _, longer = _prefix_pair(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?q={longer[:-1]}").content.decode()
    assert "exact match</strong>" not in html
    assert "No row has exactly this identifier; " in html
    assert f'<mark class="hit">{longer[:-1]}</mark>{longer[-1]}' in html


def test_matches_in_reasons_are_marked_and_the_note_counts_them(logged_in):
    wait_for_scan(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?q=NOT+A+VALID").content.decode()
    reasons = re.findall(r'<td class="reason">(.*?)</td>', html, re.S)
    assert reasons and all('<mark class="hit">' in r for r in reasons)
    assert re.search(r'<mark class="hit">not a valid</mark>', html, re.I)
    assert "have it in the reason." in html or "has it in the reason." in html


def test_a_row_link_under_a_search_finds_a_row_after_the_exact_ones(logged_in):
    exact, _ = _prefix_pair(CUSTOMERS)
    first = logged_in.get(f"/jobs/{CUSTOMERS}/?q={exact}", **htmx("failures")).content.decode()
    rows = re.findall(r'<tr id="row-(\d+)"', first)
    assert len(rows) >= 2
    for row in rows:
        html = logged_in.get(f"/jobs/{CUSTOMERS}/?q={exact}&row={row}", **htmx("failures")).content.decode()
        assert f'<tr id="row-{row}" class="is-target"' in html
        assert "has no failure" not in html


def test_marks_in_hostile_text_stay_escaped_and_visible(logged_in):
    job = SHOWCASE["hostile"]
    wait_for_scan(job)
    for term in ("script", "<script>", "gpj"):
        html = logged_in.get(f"/jobs/{job}/", {"q": term, "per_page": 100}).content.decode()
        assert "<script>alert" not in html and "<img src=x onerror" not in html
        assert '<mark class="hit">' in html, term
        assert "\u202e" not in html
    html = logged_in.get(f"/jobs/{job}/", {"q": "<script>"}).content.decode()
    assert '<mark class="hit">&lt;script&gt;</mark>' in html
    bidi = logged_in.get(f"/jobs/{job}/", {"q": "gpj.exe"}).content.decode()
    assert '⟨U+202E⟩<mark class="hit">gpj.exe</mark>' in bidi


def test_a_failed_job_whose_lost_rows_cannot_be_read_answers_a_search_at_once(logged_in, meteroid):
    from tests.support.upstream import JOB, Reply

    # Every failed row lost with whole chunks, and an errors CSV that does not line up with
    # the input file: there is nothing the dashboard can list, and it says why.
    meteroid.details[JOB] |= {"status": "FAILED", "failed_items": 50, "failure_count": 0}
    meteroid.failures[JOB] = []
    meteroid.files["errors"] = Reply(
        200, b"alias,name,_error\r\nzed-9,Zed,y\r\n", {"Content-Type": "text/csv"}
    )
    wait_for_scan(JOB)
    html = logged_in.get(f"/jobs/{JOB}/", {"q": "acme"}, **htmx("failures")).content.decode()
    assert "Reading every failure of this job" not in html
    note = html[html.index('id="nothing-to-search"') :]
    note = note[: note.index("</p>")]
    assert "lost with chunks that failed as a whole" in note
