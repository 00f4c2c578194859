"""Causes across jobs: the reason patterns of a window's failed rows, their jobs, and the CSV.

Precise cases stand on index rows written directly (with the jobs' creation times chosen);
the showcase jobs of the sandbox are scanned over HTTP for the page as people see it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from dashboard.failures.reasons import pattern_of
from dashboard.index import across
from dashboard.index.indexing import Scope
from dashboard.index.models import IndexedJob
from dashboard.index.sources import scope_of
from dashboard.meteroid.gateway import get_gateway
from dashboard.pages import causes as pages
from dashboard.pages import search_across
from dashboard.sandbox.world.data import ANCHOR_MS, SHOWCASE
from tests.support.helpers import htmx, indexed_job, wait_for_scan
from tests.support.markup import audit, links

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
MISSING = "Customer 'cus_4fQ2x9Ab' not found"
ARCHIVED = "Plan 'plan_7Hq2Zk1' is archived"
LATE = "Event timestamp 2026-11-30T10:00:00Z is after the period closed"
HOSTILE = "=HYPERLINK(\"http://evil\") <script>alert(1)</script> 'cus_9Zx8Qw7' \u202e"


@pytest.fixture
def at_now(monkeypatch):
    """The causes pages' clock, at NOW."""
    monkeypatch.setattr(pages, "now", lambda: NOW)
    return NOW


def _scope() -> Scope:
    return scope_of(get_gateway())


def _job(job_id: str, days_ago: float, reasons: list[str], **fields) -> IndexedJob:
    """A published index of `job_id`, created `days_ago` before NOW, failing with `reasons`."""
    return indexed_job(job_id, NOW - timedelta(days=days_ago), reasons, **fields)


def _key(reason: str) -> str:
    return pattern_of(reason).key


def _world():
    """Three causes over four jobs: one steady, one that stopped, one new; and a cause of
    another key's dashboard, which never shows."""
    _job("bjob_old", 20, [MISSING] * 3 + [ARCHIVED] * 5)
    _job("bjob_mid", 12, [MISSING, ARCHIVED.replace("7Hq2Zk1", "9Kk2Lp0")])
    _job("bjob_new", 2, [MISSING] * 2 + [LATE] * 4, job_type="EVENT_CSV_IMPORT")
    _job("bjob_ancient", 60, [ARCHIVED] * 9)
    _job("bjob_tenant", 1, ["Secret of another tenant"] * 50, scope=Scope(_scope().base_url, "f" * 16))


# --- The SQL ------------------------------------------------------------------------------


def test_each_cause_counts_its_rows_jobs_and_first_and_last_seen(at_now):
    _world()
    indexes = across.current_indexes(_scope(), since=NOW - timedelta(days=30))
    found = {c.key: c for c in across.causes(indexes)}
    assert [c.key for c in across.causes(indexes)] == [_key(ARCHIVED), _key(MISSING), _key(LATE)]
    missing = found[_key(MISSING)]
    assert (missing.failed, missing.jobs) == (6, 3)
    assert (missing.first_seen, missing.last_seen) == (NOW - timedelta(days=20), NOW - timedelta(days=2))
    archived = found[_key(ARCHIVED)]
    assert (archived.failed, archived.jobs) == (6, 2)  # the 60-day-old job is outside the window
    assert archived.last_seen == NOW - timedelta(days=12)


def test_daily_counts_are_per_day_of_the_jobs_creation(at_now):
    _world()
    indexes = across.current_indexes(_scope(), since=NOW - timedelta(days=30))
    counts = across.daily_counts(indexes, [_key(MISSING), _key(LATE)])
    day = lambda days_ago: (NOW - timedelta(days=days_ago)).date()  # noqa: E731
    assert counts == {_key(MISSING): {day(20): 3, day(12): 1, day(2): 2}, _key(LATE): {day(2): 4}}


def test_a_causes_jobs_newest_first_with_their_counts(at_now):
    _world()
    indexes = across.current_indexes(_scope(), since=NOW - timedelta(days=30))
    jobs = across.cause_jobs(indexes, _key(MISSING))
    assert [(j.job_id, j.failed) for j in jobs] == [("bjob_new", 2), ("bjob_mid", 1), ("bjob_old", 3)]


def test_an_example_reason_of_each_cause_makes_its_pattern(at_now):
    _world()
    indexes = across.current_indexes(_scope(), since=NOW - timedelta(days=30))
    found = across.examples(indexes, [_key(MISSING), _key(LATE), "000000000000"])
    assert set(found) == {_key(MISSING), _key(LATE)}
    assert pattern_of(found[_key(MISSING)]).key == _key(MISSING)


# --- The page -----------------------------------------------------------------------------


def _rows(response) -> list[str]:
    """The causes of the table, each as `key` in the order shown."""
    text = response.content.decode()
    return [part.split('"', 1)[0] for part in text.split('<tr id="cause-')[1:]]


def test_the_page_shows_causes_largest_first_with_new_and_stopped(logged_in, at_now):
    _world()
    response = logged_in.get(reverse("reasons-across"))
    assert response.status_code == 200
    assert _rows(response) == [_key(ARCHIVED), _key(MISSING), _key(LATE)]
    text = response.content.decode()
    assert "Secret of another tenant" not in text
    assert 'href="/reasons/?show=new">New causes</a> · <a href="/reasons/?show=stopped">' in text
    archived_row = text.split(f'<tr id="cause-{_key(ARCHIVED)}"')[1].split("</tr>")[0]
    assert "not seen since 19 Nov 2026" in archived_row
    late_row = text.split(f'<tr id="cause-{_key(LATE)}"')[1].split("</tr>")[0]
    assert '<span class="badge badge-warn">new</span>' in late_row
    missing_row = text.split(f'<tr id="cause-{_key(MISSING)}"')[1].split("</tr>")[0]
    assert "badge" not in missing_row.split("<details")[0]
    # A bar a day, 31 days: the days of the window's first and last day.
    assert missing_row.count("<rect ") == 31
    assert "19 Nov: 1 failed row<" in missing_row


def test_the_filters_new_stopped_window_and_type(logged_in, at_now):
    _world()
    page = lambda **q: _rows(logged_in.get(reverse("reasons-across"), q))  # noqa: E731
    assert page(show="new") == [_key(LATE)]
    assert page(show="stopped") == [_key(ARCHIVED)]
    assert page(days="7") == [_key(LATE), _key(MISSING)]
    assert page(days="90") == [_key(ARCHIVED), _key(MISSING), _key(LATE)]
    assert page(type="EVENT_CSV_IMPORT") == [_key(LATE), _key(MISSING)]


def test_a_90_day_window_charts_weeks(logged_in, at_now):
    _world()
    text = logged_in.get(reverse("reasons-across"), {"days": "90"}).content.decode()
    archived_row = text.split(f'<tr id="cause-{_key(ARCHIVED)}"')[1].split("</tr>")[0]
    assert archived_row.count("<rect ") == 13
    assert "Per week" in text
    assert "30 Sep–06 Oct: 9 failed rows" in archived_row  # the 60-day-old job's week


def test_a_7_day_window_says_new_and_stopped_need_a_longer_one(logged_in, at_now):
    _world()
    text = logged_in.get(reverse("reasons-across"), {"days": "7"}).content.decode()
    assert "choose 30 or 90 days" in text
    assert "badge-warn" not in text


def test_the_pages_are_paged(logged_in, at_now, monkeypatch):
    _world()
    monkeypatch.setattr(pages, "CAUSES_PER_PAGE", 2)
    assert _rows(logged_in.get(reverse("reasons-across"))) == [_key(ARCHIVED), _key(MISSING)]
    second = logged_in.get(reverse("reasons-across"), {"page": "2"})
    assert _rows(second) == [_key(LATE)]
    assert '<td class="num rank">3</td>' in second.content.decode()
    past = logged_in.get(reverse("reasons-across"), {"page": "3"})
    assert past.status_code == 404
    assert "There is no page 3 of these causes: the last is 2." in past.content.decode()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"days": "12"}, "The time window can be 7 days, 30 days or 90 days, not “12”."),
        ({"type": "<b>NOPE</b>"}, "The job type can be"),
        ({"show": "gone"}, "Which causes to show can be"),
        ({"page": "0"}, "The page must be 1 or more"),
    ],
)
def test_bad_input_is_a_400_that_says_why(logged_in, at_now, query, words):
    response = logged_in.get(reverse("reasons-across"), query)
    assert response.status_code == 400
    text = response.content.decode()
    assert words in text
    assert "<b>NOPE</b>" not in text


def test_hostile_reason_text_is_escaped(logged_in, at_now):
    _job("bjob_hostile", 3, [HOSTILE])
    text = logged_in.get(reverse("reasons-across")).content.decode()
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(" in text
    assert "\u202e" not in text  # drawn visibly, never reordering the page
    assert audit(text) == []
    jobs = logged_in.get(reverse("reasons-across-cause", args=[_key(HOSTILE)])).content.decode()
    assert audit(jobs) == []
    assert "<script>alert" not in jobs and "&lt;script&gt;alert(" in jobs


# --- A cause's jobs -----------------------------------------------------------------------


def test_a_causes_jobs_page_links_each_jobs_group_and_reasons(logged_in, at_now):
    _world()
    key = _key(MISSING)
    response = logged_in.get(reverse("reasons-across-cause", args=[key]))
    assert response.status_code == 200
    text = response.content.decode()
    order = [text.index(f">{job}</a>") for job in ("bjob_new", "bjob_mid", "bjob_old")]
    assert order == sorted(order)
    assert f'href="/jobs/bjob_mid/?reason={key}"' in text
    assert f'href="/jobs/bjob_mid/reasons/#group-{key}"' in text
    assert "6 failed rows of 3 jobs" in text
    assert "bjob_ancient" not in text


def test_every_link_of_the_page_leads_somewhere(logged_in, at_now):
    _world()
    seen = set()
    for query in ({}, {"days": "90", "type": "EVENT_CSV_IMPORT"}):
        page = logged_in.get(reverse("reasons-across"), query).content.decode()
        for link in links(page, "/reasons/"):
            if link.startswith("/reasons/") and link not in seen:
                seen.add(link)
                assert logged_in.get(link).status_code in (200, 302), link
    assert any(link.startswith("/reasons/causes.csv") for link in seen)


def test_a_causes_jobs_follow_the_filters_and_expand_a_row_with_htmx(logged_in, at_now):
    _world()
    key = _key(MISSING)
    url = reverse("reasons-across-cause", args=[key])
    fragment = logged_in.get(url, {"type": "EVENT_CSV_IMPORT"}, **htmx(f"jobs-{key}")).content.decode()
    assert "<html" not in fragment
    assert "bjob_new" in fragment and "bjob_old" not in fragment
    # The causes page's row links to it, with the page's filters, for browsers without JavaScript.
    page = logged_in.get(reverse("reasons-across"), {"type": "EVENT_CSV_IMPORT"}).content.decode()
    assert f'href="{url}?type=EVENT_CSV_IMPORT">List the jobs</a>' in page


def test_a_cause_without_jobs_in_the_window_or_of_another_tenant_is_a_404(logged_in, at_now):
    _world()
    assert (
        logged_in.get(reverse("reasons-across-cause", args=[_key("Secret of another tenant")])).status_code
        == 404
    )
    assert (
        logged_in.get(
            reverse("reasons-across-cause", args=[_key(LATE)]), {"days": "7", "type": "CUSTOMER_CSV_IMPORT"}
        ).status_code
        == 404
    )
    assert logged_in.get(reverse("reasons-across-cause", args=["not-a-key"])).status_code == 404


# --- The CSV ------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_csv_has_every_cause_with_the_filters(logged_in, at_now):
    _world()
    response = logged_in.get(reverse("reasons-across-csv"))
    assert response.status_code == 200
    assert 'filename="causes-30-days.csv"' in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == list(pages_header())
    assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("6", "2", "2026-11-11", "2026-11-19", "not seen since 2026-11-19", _key(ARCHIVED)),
        ("6", "3", "2026-11-11", "2026-11-29", "", _key(MISSING)),
        ("4", "1", "2026-11-29", "2026-11-29", "new", _key(LATE)),
    ]
    assert rows[1][0] == pattern_of(MISSING).template.text
    assert rows[1][7] == f"http://testserver/reasons/{_key(MISSING)}/"
    newest = _csv(logged_in.get(reverse("reasons-across-csv"), {"show": "new", "type": "EVENT_CSV_IMPORT"}))
    # Of the events imports alone, both causes are new: they first failed one 2 days ago.
    assert [(r[5], r[6]) for r in newest[1:]] == [("new", _key(LATE)), ("new", _key(MISSING))]
    assert newest[1][7].endswith("?type=EVENT_CSV_IMPORT")


def test_the_csv_is_formula_safe(logged_in, at_now):
    _job("bjob_hostile", 3, [HOSTILE])
    _, row = _csv(logged_in.get(reverse("reasons-across-csv")))
    assert row[0].startswith("'=HYPERLINK")


def test_the_csv_refuses_bad_input(logged_in, at_now):
    assert logged_in.get(reverse("reasons-across-csv"), {"days": "365"}).status_code == 400


def pages_header():
    from dashboard.views.causes import CAUSES_HEADER

    return CAUSES_HEADER


# --- Over the sandbox ---------------------------------------------------------------------


def test_scanned_showcase_jobs_add_up_on_the_page(logged_in, monkeypatch):
    anchor = datetime.fromtimestamp(ANCHOR_MS / 1000, UTC)
    monkeypatch.setattr(pages, "now", lambda: anchor + timedelta(days=1))
    monkeypatch.setattr(search_across, "now", lambda: anchor + timedelta(days=1))
    roles = ("customers", "subscriptions", "migration")
    indexes = [wait_for_scan(SHOWCASE[role]).index for role in roles]
    jobs = IndexedJob.objects.filter(pk__in=[i.pk for i in indexes])
    failed = sum(j.failures.count() for j in jobs)
    response = logged_in.get(reverse("reasons-across"))
    assert response.status_code == 200
    page = response.context["page"]
    assert (page.jobs, page.failed) == (3, failed)
    assert sum(count.failed for count, _ in page.counts) == failed
    # It says what it counted of the window's jobs on Meteroid's list, and asks for the others.
    coverage = response.context["coverage"]
    assert coverage.sentence.startswith(
        f"Counted {coverage.listed - coverage.unread - len(coverage.reading)} of the "
    )
    assert "jobs of the last 30 days" in coverage.sentence
    assert coverage.listed > 3 and coverage.reading
    assert "count again</a> in a while" in response.content.decode()
    assert IndexedJob.objects.filter(status=IndexedJob.Status.QUEUED).exists()
    top = page.counts[0][0]
    by_job = {j.job_id: j.failures.filter(pattern_key=top.key).count() for j in jobs}
    assert top.failed == sum(by_job.values())
    assert top.jobs == sum(1 for n in by_job.values() if n)
    created = sorted(j.job_created_at for j in jobs if by_job[j.job_id])
    assert (top.first_seen, top.last_seen) == (created[0], created[-1])
    # One type alone: the customers import.
    customers = logged_in.get(reverse("reasons-across"), {"type": "CUSTOMER_CSV_IMPORT"}).context["page"]
    assert customers.jobs == 1
    assert customers.failed == jobs.get(job_id=SHOWCASE["customers"]).failures.count()
    # Each of its causes lists the customers job, linked to its group.
    key = customers.counts[0][0].key
    text = logged_in.get(
        reverse("reasons-across-cause", args=[key]), {"type": "CUSTOMER_CSV_IMPORT"}
    ).content.decode()
    assert f'href="/jobs/{SHOWCASE["customers"]}/?reason={key}"' in text


def test_a_plain_form_submission_redirects_to_the_short_address(logged_in, at_now):
    response = logged_in.get(reverse("reasons-across"), {"days": "90", "type": "", "show": ""})
    assert response.status_code == 302
    assert response["Location"] == "/reasons/?days=90"


def test_the_top_bar_links_the_page(logged_in, at_now):
    assert 'href="/reasons/">Causes across jobs</a>' in logged_in.get(reverse("jobs")).content.decode()
