"""The poll of a running job's page: one answer that carries every part that moved, and the
ended state of every part once the job has ended."""

from __future__ import annotations

import re
import time

import pytest

from dashboard.index import status
from dashboard.index.status import scan_status
from dashboard.pages import live
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import htmx, run_index_scans, wait_for_scan
from tests.support.index_reading import WorkerMeanwhile
from tests.support.live_jobs import growing_job

pytestmark = pytest.mark.django_db

LEAD = 20  # the page is loaded this long before the job ends
POLLED = LEAD - 12  # and polled this long before it ends, with new failures by then


@pytest.fixture
def running(settings):
    """A live job that gains failures, shown LEAD seconds before its end; `at(seconds)`
    moves the sandbox to that many seconds before the end. Every copy of an active job is
    read anew."""
    now = time.time()
    job_id, ended = growing_job(now, LEAD, POLLED)
    settings.METEROID_CACHE_ACTIVE_SECONDS = 0

    def at(before_end: float) -> None:
        settings.SANDBOX_TIME_OFFSET_SECONDS = ended - time.time() - before_end

    at(LEAD)
    return job_id, at


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="row-(\d+)"', html)


def _seen(html: str) -> str:
    return re.search(r'<section id="failures"[^>]*data-seen="(\d+)"', html).group(1)


def _lists(html: str) -> str:
    found = re.search(r'<section id="job-summary"[^>]*data-lists="([0-9a-f]+)"', html)
    return found.group(1) if found else ""


def _poll(client, job_id: str, view: str, **params: str):
    return client.get(
        f"/jobs/{job_id}/",
        params,
        **htmx("job-summary"),
        HTTP_HX_CURRENT_URL=f"http://testserver/jobs/{job_id}/{view}",
    )


def test_an_active_jobs_page_polls_once_for_every_part(logged_in, running):
    job_id, _ = running
    html = logged_in.get(f"/jobs/{job_id}/?per_page=50").content.decode()
    summary = re.search(r'<section id="job-summary".*?>', html, re.S).group(0)
    assert 'hx-trigger="every 3s"' in summary and "js/live." in html
    # No other part asks by itself while the job runs: the summary's poll brings them.
    assert html.count("hx-trigger=") - html.count('hx-trigger="none"') == 3  # poll, filters form, search
    assert 'id="failures-news"' in html
    assert _seen(html) == str(len(_rows(html)))


def test_the_poll_brings_new_failures_to_the_first_page(logged_in, running):
    job_id, at = running
    page = logged_in.get(f"/jobs/{job_id}/?per_page=50").content.decode()
    seen = _seen(page)
    at(POLLED)
    html = _poll(logged_in, job_id, "?per_page=50", seen=seen).content.decode()
    assert html.lstrip().startswith('<section id="job-summary"')
    assert (
        '<section id="failures" class="table-region" aria-labelledby="failures-title" hx-swap-oob="true"'
        in html
    )
    rows = _rows(html)
    assert len(rows) > int(seen) and rows[: int(seen)] == _rows(page)
    assert f"of {len(rows)}" in html
    assert "new failure" not in html


def test_a_reader_who_paged_is_told_of_new_failures_and_their_table_stays(logged_in, running):
    job_id, at = running
    page = logged_in.get(f"/jobs/{job_id}/?page=2").content.decode()
    seen = int(_seen(page))
    at(POLLED)
    html = _poll(logged_in, job_id, "?page=2", seen=str(seen), lists=_lists(page)).content.decode()
    assert 'id="failures" ' not in html
    news = re.search(r'<p id="failures-news" hx-swap-oob="innerHTML">(.*?)</p>', html, re.S).group(1)
    count = int(re.match(r"(\d+) new failures?: ", news).group(1))
    assert count >= 1
    # "show" brings the reader's own view again.
    assert f'hx-get="/jobs/{job_id}/?page=2"' in news and ">show</a>" in news
    fresh = logged_in.get(f"/jobs/{job_id}/?page=2", **htmx("failures")).content.decode()
    assert int(_seen(fresh)) == seen + count


def test_a_filtered_reader_is_told_too(logged_in, running):
    job_id, _ = running
    page = logged_in.get(f"/jobs/{job_id}/").content.decode()
    chunk = re.search(r'href="\?chunk=(bjch_[0-9A-Za-z]+)"', page).group(1)
    view = f"?chunk={chunk}"
    total = int(_seen(logged_in.get(f"/jobs/{job_id}/{view}").content.decode()))
    # A page that shows one failure fewer than the chunk has now (it was shown before the last).
    html = _poll(logged_in, job_id, view, seen=str(total - 1)).content.decode()
    assert 'id="failures" ' not in html
    news = re.search(r'<p id="failures-news" hx-swap-oob="innerHTML">(.*?)</p>', html, re.S).group(1)
    assert news.startswith("1 new failure: ") and f'href="/jobs/{job_id}/{view}"' in news


def test_a_poll_that_sees_nothing_new_brings_the_summary_alone(logged_in, running):
    job_id, _ = running
    page = logged_in.get(f"/jobs/{job_id}/?page=2").content.decode()
    assert wait_for_scan(job_id).state == "done"  # the lists stay as they are meanwhile
    first = _poll(logged_in, job_id, "?page=2", seen=_seen(page)).content.decode()
    # The first poll brings the lists (the page holds no digest of them yet)...
    assert 'id="scan-filters" class="scan-filters" hx-swap-oob="true"' in first
    again = _poll(logged_in, job_id, "?page=2", seen=_seen(page), lists=_lists(first)).content.decode()
    # ...later ones only when they changed; the table with nothing new stays as it is.
    assert 'id="scan-filters"' not in again and 'id="reason-summary"' not in again
    assert 'id="failures"' not in again and "new failure" not in again
    assert 'id="job-summary"' in again


def test_a_view_that_no_longer_exists_is_left_alone(logged_in, running):
    job_id, _ = running
    response = _poll(logged_in, job_id, "?page=99", seen="3")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="job-summary"' in html and 'id="failures"' not in html and "new failure" not in html


def test_the_poll_that_sees_the_job_ended_brings_every_part_ended(logged_in, running, monkeypatch):
    job_id, at = running
    page = logged_in.get(f"/jobs/{job_id}/?page=2").content.decode()
    assert wait_for_scan(job_id).state == "done"
    first = _poll(logged_in, job_id, "?page=2", seen=_seen(page)).content.decode()
    assert "The job is still running: these lists grow with it." in first
    at(-1)
    # The poll that sees the end waits a little for the index of the ended job: a worker
    # publishes it meanwhile.
    worker = WorkerMeanwhile()
    monkeypatch.setattr(status, "time", worker)
    html = _poll(logged_in, job_id, "?page=2", seen=_seen(page), lists=_lists(first)).content.decode()
    summary = re.search(r'<section id="job-summary".*?</section>', html, re.S).group(0)
    assert "Completed" in summary and "every 3s" not in summary and "data-lists" not in summary
    assert 'id="download-errors"' in summary
    assert worker.sleeps >= 1
    # The lists come in their ended state even though the page's digest is of the running ones.
    filters = re.search(r'<div id="scan-filters".*?<section id="failures"', html, re.S).group(0)
    assert "All chunks (" in filters and "still running" not in filters and "hx-get" not in filters
    assert (
        'id="reason-summary" class="reason-summary" aria-labelledby="reason-summary-title" hx-swap-oob="true"'
        in html
    )
    # The reader's table too, at the page they were on, with its downloads, asking no more.
    table = re.search(r'<section id="failures".*?</section>', html, re.S).group(0)
    assert 'hx-swap-oob="true"' in table and 'hx-trigger="none"' in table
    assert 'id="rows-to-fix"' in table and 'id="failures-news"' not in table
    ended = logged_in.get(f"/jobs/{job_id}/?page=2").content.decode()
    assert _rows(table) == _rows(ended)


def _group_counts(html: str) -> list[int]:
    return [
        int(n.replace(",", ""))
        for n in re.findall(r'<tr id="group-[0-9a-f]{12}">.*?<td class="num">([\d,]+)</td>', html, re.S)
    ]


def test_an_active_jobs_old_index_is_read_again_and_shown_meanwhile(logged_in, running, monkeypatch):
    from dashboard.meteroid.gateway import get_gateway

    job_id, at = running
    first = wait_for_scan(job_id)
    at(POLLED)  # new failures since
    monkeypatch.setattr(status, "ACTIVE_FRESH_SECONDS", 0)  # and the index is old by now
    html = logged_in.get(f"/jobs/{job_id}/reasons/").content.decode()
    assert "Reading every failure" not in html
    assert sum(_group_counts(html)) == first.result.scanned
    assert 'hx-trigger="every 5s"' in html
    assert scan_status(get_gateway().job(job_id)).refreshing
    assert run_index_scans() == 1
    html = logged_in.get(f"/jobs/{job_id}/reasons/").content.decode()
    assert sum(_group_counts(html)) > first.result.scanned


def test_an_active_jobs_failed_reread_is_said_on_its_pages_with_a_way_to_read_it_again(
    logged_in, running, monkeypatch
):
    from dashboard.index.models import IndexedJob
    from dashboard.sandbox.api import views as sandbox

    job_id, at = running
    first = wait_for_scan(job_id)
    at(POLLED)
    stopped = sandbox._now()
    monkeypatch.setattr(sandbox, "_now", lambda: stopped)  # the job stays in the state that failed
    monkeypatch.setattr(status, "ACTIVE_FRESH_SECONDS", 0)
    logged_in.get(f"/jobs/{job_id}/")  # asks for a new reading, which fails
    IndexedJob.objects.exclude(pk=first.index.pk).update(
        status=IndexedJob.Status.FAILED, error="Meteroid could not be reached <b>now</b>."
    )
    for view in ("", "reasons/"):
        html = logged_in.get(f"/jobs/{job_id}/{view}").content.decode()
        assert "Reading the job again failed: Meteroid could not be reached &lt;b&gt;now&lt;/b&gt;." in html
        assert "<b>now" not in html
        assert re.search(r"What is shown was read (now|[^<,]+ ago), and may be behind the job", html)
    assert sum(_group_counts(html)) == first.result.scanned
    html = logged_in.get(f"/jobs/{job_id}/").content.decode()
    assert "These lists are from an earlier reading of the job." in html
    assert re.search(r'hx-post="/jobs/[^"]+/chunks/rescan/"[^>]*>Read it again</button>', html)
    logged_in.post(f"/jobs/{job_id}/chunks/rescan/")
    assert run_index_scans() == 1
    html = logged_in.get(f"/jobs/{job_id}/reasons/").content.decode()
    assert "Reading the job again failed" not in html
    assert sum(_group_counts(html)) > first.result.scanned


@pytest.mark.parametrize(
    ("ended", "exists", "follows", "total", "seen", "news"),
    [
        (False, True, True, 30, 27, live.TableNews(swap=True)),
        (False, True, True, 27, 27, live.TableNews()),
        (False, True, False, 34, 27, live.TableNews(new=7)),
        (False, True, False, 27, 27, live.TableNews()),
        (False, True, False, None, 27, live.TableNews()),  # Meteroid failed this time
        (False, True, False, None, None, live.TableNews(swap=True)),  # progress of the scan
        (False, False, True, 30, 27, live.TableNews()),
        (True, True, False, 34, 27, live.TableNews(swap=True)),
        (True, False, False, None, 27, live.TableNews()),
    ],
)
def test_what_a_poll_does_with_the_readers_table(ended, exists, follows, total, seen, news):
    assert live.table_news(ended=ended, exists=exists, follows=follows, total=total, seen=seen) == news


def test_the_readers_view_comes_from_their_address():
    assert live.view_query("http://h/jobs/bjob_1/?page=2&q=x", "/jobs/bjob_1/") == "page=2&q=x"
    assert live.view_query("http://h/jobs/bjob_1/reasons/?chunk=c", "/jobs/bjob_1/") == ""
    assert live.view_query(None, "/jobs/bjob_1/") == ""
    assert live.follows_the_job({"page": 1, "per_page": 50, "chunk": "", "reason": "", "q": "", "row": None})
    assert not live.follows_the_job({"page": 2})
    assert not live.follows_the_job({"page": 1, "q": "acme"})
    assert [live.seen_count(v) for v in ("12", "", None, "-1", "١٢", "9" * 13)] == [
        12,
        None,
        None,
        None,
        None,
        None,
    ]


def test_an_ended_jobs_table_is_read_again_once_the_rows_of_whole_chunks_are(logged_in):
    # While the scan reads the errors CSV, the table comes from Meteroid's failure records
    # alone: it asks again when the scan has every failed row.
    html = logged_in.get(f"/jobs/{SHOWCASE['whole_chunks']}/").content.decode()
    table = re.search(r'<section id="failures"[^>]*>', html).group(0)
    assert 'hx-trigger="scan-finished from:body"' in table
    # A job without such rows asks again too while its scan runs (the links that need every
    # failure read come then), and has nothing more to wait for once it is read.
    html = logged_in.get(f"/jobs/{SHOWCASE['customers']}/").content.decode()
    assert 'hx-trigger="scan-finished from:body"' in re.search(r'<section id="failures"[^>]*>', html).group(0)
    assert 'id="rows-to-fix"' not in html
    wait_for_scan(SHOWCASE["customers"])
    html = logged_in.get(f"/jobs/{SHOWCASE['customers']}/").content.decode()
    assert 'hx-trigger="none"' in re.search(r'<section id="failures"[^>]*>', html).group(0)
    assert 'id="rows-to-fix"' in html
