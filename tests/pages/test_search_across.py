"""Find it across jobs (`/search/`): support types what the customer gave, and gets the rows
that failed in every job of a window, the exact identifier first, with an honest account of
the jobs it could not search yet."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.failures.search import MAX_QUERY_CHARS, fold
from dashboard.index import across
from dashboard.index.indexing import BACKGROUND_PRIORITY, Scope
from dashboard.index.models import IndexedFailure, IndexedJob
from dashboard.index.sources import scope_of
from dashboard.meteroid.gateway import get_gateway
from dashboard.pages import search_across
from dashboard.sandbox.world.data import ANCHOR_MS, SHOWCASE
from tests.support.helpers import htmx, wait_for_scan

pytestmark = pytest.mark.django_db

ANCHOR = datetime.fromtimestamp(ANCHOR_MS / 1000, UTC)
CUSTOMERS = SHOWCASE["customers"]  # created 6 days before the anchor
SUBSCRIPTIONS = SHOWCASE["subscriptions"]  # 7 days and a minute before
HOSTILE = SHOWCASE["hostile"]  # 4 days before


@pytest.fixture(autouse=True)
def _at_anchor(monkeypatch):
    """Windows counted back from the sandbox's anchor, whatever the day the tests run; and
    no search asks for new indexes unless a test says so (a test runs them itself)."""
    monkeypatch.setattr(search_across, "now", lambda: ANCHOR)
    monkeypatch.setattr(search_across, "ASK_AT_MOST", 0)


@pytest.fixture
def scanned():
    return {job_id: wait_for_scan(job_id).index for job_id in (CUSTOMERS, SUBSCRIPTIONS, HOSTILE)}


def _failure(indexed: IndexedJob, row: int, identifier: str | None, reason: str) -> IndexedFailure:
    return IndexedFailure.objects.create(
        indexed_job=indexed,
        row=row,
        identifier=identifier,
        reason=reason,
        pattern_key="k",
        normaliser_version=1,
        chunk_id="bjch_x",
        source=IndexedFailure.Source.RECORD,
        identifier_folded=fold((identifier or "").strip()),
        reason_folded=fold(reason),
    )


def _index(scope: Scope, job_id: str, *, days_ago: float, **fields) -> IndexedJob:
    return IndexedJob.objects.create(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        job_id=job_id,
        state_key=fields.pop("state_key", "s"),
        status=fields.pop("status", IndexedJob.Status.DONE),
        job_created_at=ANCHOR - timedelta(days=days_ago),
        updated_at=timezone.now(),
        **fields,
    )


# --- The queries ------------------------------------------------------------------------------------


def test_an_exact_identifier_comes_first_then_what_contains_it_and_each_job_is_counted():
    scope = Scope("https://meteroid.example", "0123456789abcdef")
    older = _index(scope, "bjob_old", days_ago=3, file_name="acme-march.csv")
    newer = _index(scope, "bjob_new", days_ago=1)
    _failure(newer, 1, "acme-2", "Customer 'acme-2' not found")
    _failure(newer, 3, "x", "Duplicate alias 'ACME' in row 2")
    _failure(newer, 5, " Acme ", "Customer 'Acme' not found")
    _failure(newer, 7, "beta", "Customer 'beta' not found")
    _failure(older, 2, "zeta", "nothing")
    found = across.matches(across.current_indexes(scope), "acme")
    assert [(m.index.job_id, m.rows, m.exact, m.file_matches) for m in found] == [
        ("bjob_new", 3, 1, False),
        ("bjob_old", 0, 0, True),
    ]
    assert [f.row for f in across.first_rows(newer, "acme", limit=5)] == [5, 1, 3]
    assert [f.row for f in across.first_rows(newer, "acme", limit=2)] == [5, 1]


def test_an_index_of_another_key_is_never_searched():
    mine = Scope("https://meteroid.example", "0123456789abcdef")
    theirs = Scope("https://meteroid.example", "fedcba9876543210")
    _failure(_index(theirs, "bjob_theirs", days_ago=1, file_name="acme.csv"), 1, "acme", "acme")
    assert across.matches(across.current_indexes(mine), "acme") == []
    assert across.chunk_owner(mine, "bjch_x") is None
    assert across.chunk_owner(theirs, "bjch_x") == "bjob_theirs"


def test_another_keys_index_never_shows_on_the_page(logged_in):
    mine = scope_of(get_gateway())
    theirs = Scope(mine.base_url, "f" * len(mine.key_fingerprint))
    indexed = _index(theirs, CUSTOMERS, days_ago=1, file_name="tenant-only.csv")
    _failure(indexed, 1, "tenant-only-alias", "Customer 'tenant-only-alias' not found")
    for q in ("tenant-only", "bjch_x"):  # text, and a chunk only their index knows
        body = logged_in.get("/search/", {"q": q}).content.decode()
        assert "Nothing matches" in body
        assert "tenant-only.csv" not in body and "?row=1" not in body
    assert "A chunk id opens its job once" in body


# --- The page -------------------------------------------------------------------------------------


def test_an_alias_finds_its_rows_in_each_job_exact_first_with_links_to_the_rows(logged_in, scanned):
    alias = IndexedFailure.objects.filter(
        indexed_job=scanned[CUSTOMERS], identifier__startswith="papaya"
    ).first()
    needle = fold(alias.identifier)
    exact_rows = list(
        IndexedFailure.objects.filter(indexed_job=scanned[CUSTOMERS], identifier_folded=needle).values_list(
            "row", flat=True
        )
    )
    matching = across.matching_failures(IndexedJob.objects.filter(pk=scanned[CUSTOMERS].pk), needle).count()
    body = logged_in.get("/search/", {"q": alias.identifier.upper()}).content.decode()
    job = (
        body.split('<ol class="found-jobs">', 1)[1]
        .split(f'href="/jobs/{CUSTOMERS}/"', 1)[1]
        .split("</li>", 1)[0]
    )
    assert f"{matching} matching row" in job
    shown = [int(n) for n in re.findall(rf'href="/jobs/{CUSTOMERS}/\?row=(\d+)"', job)]
    assert shown[: len(exact_rows)] == sorted(exact_rows)[: len(shown)]
    assert "exact match" in job
    if matching > search_across.ROWS_PER_JOB:
        assert f"All {matching} rows in this job" in job


def test_jobs_come_newest_first_with_their_counts_and_the_total(logged_in, scanned):
    body = logged_in.get("/search/?q=acme").content.decode()
    counts = {
        job_id: across.matching_failures(IndexedJob.objects.filter(pk=index.pk), "acme").count()
        for job_id, index in scanned.items()
    }
    listed = re.findall(r'<h2><a class="mono" href="/jobs/(bjob_\w+)/"', body)
    assert listed == [job_id for job_id in (HOSTILE, CUSTOMERS, SUBSCRIPTIONS) if counts[job_id]]
    assert f"{sum(counts.values()):,} matching rows" in body


def test_a_job_id_opens_its_job_and_a_chunk_id_its_job_filtered_by_it(logged_in, scanned):
    assert logged_in.get("/search/", {"q": f"  {CUSTOMERS} "})["Location"] == f"/jobs/{CUSTOMERS}/"
    chunk = IndexedFailure.objects.filter(indexed_job=scanned[SUBSCRIPTIONS]).first().chunk_id
    response = logged_in.get("/search/", {"q": chunk})
    assert response.status_code == 302
    assert response["Location"] == f"/jobs/{SUBSCRIPTIONS}/?chunk={chunk}"


def test_the_window_and_the_type_narrow_the_jobs_searched(logged_in, scanned):
    def jobs_found(**params):
        body = logged_in.get("/search/", {"q": "acme", **params}).content.decode()
        return set(re.findall(r'<h2><a class="mono" href="/jobs/(bjob_\w+)/"', body))

    assert SUBSCRIPTIONS in jobs_found()
    assert SUBSCRIPTIONS not in jobs_found(days=7)  # created 7 days and a minute before
    assert jobs_found(days=0) >= jobs_found(days=365) >= jobs_found()  # 0: any time
    assert jobs_found(type="SUBSCRIPTION_CSV_IMPORT") == {SUBSCRIPTIONS}


def test_bad_input_gets_a_clear_answer(logged_in):
    empty = logged_in.get("/search/")
    assert empty.status_code == 200
    assert "A customer alias, an event id" in empty.content.decode()
    long = logged_in.get("/search/", {"q": "x" * (MAX_QUERY_CHARS + 1)})
    assert long.status_code == 400
    assert f"can be at most {MAX_QUERY_CHARS} characters long" in long.content.decode()
    assert logged_in.get("/search/", {"q": "acme", "type": "NOPE"}).status_code == 400
    assert logged_in.get("/search/", {"q": "acme", "days": "5"}).status_code == 400


def test_hostile_text_is_escaped_and_its_invisible_characters_drawn(logged_in, scanned):
    body = logged_in.get("/search/", {"q": "<script>"}).content.decode()
    assert "<script>alert" not in body
    assert '<mark class="hit">&lt;script&gt;</mark>alert(1)' in body
    files = logged_in.get("/search/", {"q": "onerror"}).content.decode()
    assert "<img src=x" not in files
    assert "⟨U+202E⟩customers-final.csv" in files


def test_coverage_says_which_jobs_of_the_window_were_searched(
    logged_in, scanned, monkeypatch, django_capture_on_commit_callbacks
):
    scope = scope_of(get_gateway())
    listed, _ = search_across.window_jobs(get_gateway(), ANCHOR - timedelta(days=30), "")
    empty = [j for j in listed if j.is_terminal and j.failed_items == 0 and j.id not in scanned]
    unread = [j for j in listed if j.id not in scanned and j not in empty]
    failed = unread[0]
    _index(scope, failed.id, days_ago=1, status=IndexedJob.Status.FAILED, error="Meteroid said <no>")
    body = logged_in.get("/search/?q=acme").content.decode()
    searched = len(scanned) + len(empty)
    assert (
        f"Searched {searched} of the {len(listed)} jobs of the last 30 days; "
        f"{len(unread) - 1} not read yet; 1 could not be read." in body
    )
    assert f"{failed.id}</a> could not be read: Meteroid said &lt;no&gt;" in body
    assert 'hx-trigger="every 2s"' not in body

    monkeypatch.setattr(search_across, "ASK_AT_MOST", 2)
    with django_capture_on_commit_callbacks(execute=True):
        asked = logged_in.get("/search/?q=acme", **htmx("search-coverage")).content.decode()
    # Behind the scans that pages wait for.
    assert list(DBTaskResult.objects.values_list("priority", flat=True)) == [BACKGROUND_PRIORITY] * 2
    assert asked.lstrip().startswith('<div id="search-coverage"')
    assert "2 are being read" in asked
    assert 'hx-trigger="every 2s"' in asked
    reading = IndexedJob.objects.filter(
        status=IndexedJob.Status.QUEUED, key_fingerprint=scope.key_fingerprint
    )
    assert reading.count() == 2
    reading.filter(pk=reading.first().pk).update(status=IndexedJob.Status.RUNNING, fetched=5, total=10)
    again = logged_in.get("/search/?q=acme", **htmx("search-coverage")).content.decode()
    assert re.search(r"being read:\s+5 of 10 failures", again)


def test_the_form_works_without_javascript_and_htmx_swaps_the_results(logged_in, scanned):
    jobs_page = logged_in.get("/jobs/").content.decode()
    assert re.search(r'<form class="top-search" method="get" action="/search/"', jobs_page)
    assert 'name="q"' in jobs_page
    page = logged_in.get("/search/?q=acme").content.decode()
    assert 'hx-push-url="true"' in page and 'method="get" action="/search/"' in page
    fragment = logged_in.get("/search/?q=acme", **htmx("search-results")).content.decode()
    assert fragment.lstrip().startswith('<section id="search-results"')
    assert "<html" not in fragment
    assert "<title>Search “acme” · last 30 days · Meteroid failures</title>" in fragment


def test_searching_needs_a_login(client):
    response = client.get("/search/?q=acme")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_did_it_import_says_per_job_what_became_of_the_rows_of_the_identifier(logged_in, scanned):
    """Every row of the job's file with exactly the identifier searched, with what became of
    it: a failed row says so with its reason, and one that did not fail imported."""
    failure = IndexedFailure.objects.filter(indexed_job=scanned[CUSTOMERS], identifier__isnull=False).first()
    body = logged_in.get("/search/", {"q": failure.identifier}).content.decode()
    section = body.split('class="did-it-import"', 1)[1].split("</section>", 1)[0]
    assert f'href="/jobs/{CUSTOMERS}/?row={failure.row}">row {failure.row:,}</a>: failed: ' in section
    assert "Looked into the file's rows of" in section


def test_a_row_that_did_not_fail_imported(logged_in, scanned):
    from dashboard.index.models import IndexedInputRow

    index = scanned[CUSTOMERS]
    failed = set(IndexedFailure.objects.filter(indexed_job=index).values_list("row", flat=True))
    imported = next(
        r
        for r in IndexedInputRow.objects.filter(indexed_job=index).order_by("row")
        if r.row not in failed and r.identifier
    )
    body = logged_in.get("/search/", {"q": imported.identifier}).content.decode()
    section = body.split('class="did-it-import"', 1)[1].split("</section>", 1)[0]
    assert f"row {imported.row:,}</a>: imported (no failure)" in section
