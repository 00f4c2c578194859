"""The backfill keeps every job of the window indexed in its current state: each job asked
for once, ended jobs not read again until their entry in the list changes, active and
retried ones again as they change; its scans wait behind pages' and read fewer pages at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dashboard.index import sources
from dashboard.index.backfill import LIST_PAGE, backfill, take_turn
from dashboard.index.indexing import BACKGROUND_PRIORITY, Scope
from dashboard.index.models import IndexedJob
from dashboard.index.sources import scan_concurrency, scope_of
from dashboard.meteroid import streaming
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.api import control, views
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import later

pytestmark = pytest.mark.django_db

Status = IndexedJob.Status
AskedBy = IndexedJob.AskedBy
RETRYABLE = SHOWCASE["retryable"]  # ended FAILED, every chunk failed as a whole: retried on demand


def _window(days: float) -> tuple[set[str], set[str]]:
    """(the jobs of the last `days` as the list gives them, the others): the page the round
    read, from the gateway's cache."""
    since = timezone.now() - timedelta(days=days)
    listing = get_gateway().jobs(per_page=LIST_PAGE)
    assert listing.pagination.total_pages == 1
    inside = {job.id for job in listing.jobs if job.created_at and job.created_at >= since}
    return inside, {job.id for job in listing.jobs} - inside


def _scanned() -> None:
    """Every index asked for made, as the worker would (the scans themselves are another
    test's matter)."""
    IndexedJob.objects.filter(status__in=(Status.QUEUED, Status.RUNNING)).update(status=Status.DONE)


def _reads(monkeypatch) -> list[str]:
    """The jobs whose detail the gateway is asked for, from now on."""
    gateway = get_gateway()
    read, job = [], gateway.job

    def recorded(job_id: str, **kwargs):
        read.append(job_id)
        return job(job_id, **kwargs)

    monkeypatch.setattr(gateway, "job", recorded)
    return read


def test_a_round_asks_for_every_job_of_the_window_once_in_its_current_state(settings):
    settings.INDEX_WINDOW_DAYS = 9
    done = backfill()
    inside, outside = _window(9)
    assert inside and outside, "the sandbox has jobs on both sides of nine days"
    asked = IndexedJob.objects.all()
    assert sorted(index.job_id for index in asked) == sorted(inside)
    assert (done.listed, done.looked, done.asked) == (len(inside),) * 3
    gateway = get_gateway()
    for index in asked:
        assert index.state_key == job_state_key(gateway.job(index.job_id))
        assert (index.asked_by, index.status) == (AskedBy.BACKGROUND, Status.QUEUED)
        assert scope_of(gateway) == Scope(index.base_url, index.key_fingerprint)


def test_a_job_whose_index_is_being_made_waits_for_the_next_round(settings, monkeypatch):
    settings.INDEX_WINDOW_DAYS = 9
    backfill()
    read = _reads(monkeypatch)
    again = backfill()
    assert (read, again.looked, again.asked) == ([], 0, 0)
    assert IndexedJob.objects.count() == again.listed


def test_ended_jobs_are_not_read_again_but_active_ones_are(settings, monkeypatch, clock):
    # The cache's clock stands still: an active job read again is read as it was.
    backfill()
    _scanned()
    before = IndexedJob.objects.count()
    read = _reads(monkeypatch)
    again = backfill()
    listing = get_gateway().jobs(per_page=LIST_PAGE)
    active = {job.id for job in listing.jobs if job.is_active}
    assert active, "the sandbox has jobs still running"
    assert set(read) == active and len(read) == len(active) == again.looked
    # Read again within the detail's lifetime, an active job is in the state already asked.
    assert (again.asked, IndexedJob.objects.count()) == (0, before)


def test_an_index_a_page_made_is_read_once_to_be_known_and_not_again(settings, monkeypatch):
    gateway = get_gateway()
    ended = next(job for job in gateway.jobs(per_page=LIST_PAGE).jobs if job.is_terminal)
    page_made = sources.ask(gateway.job(ended.id))
    IndexedJob.objects.filter(pk=page_made.pk).update(status=Status.DONE)
    backfill()
    assert IndexedJob.objects.filter(job_id=ended.id).count() == 1  # the page's, joined
    _scanned()
    read = _reads(monkeypatch)
    backfill()
    assert ended.id not in read


def test_a_retried_job_is_asked_for_again_as_it_runs_and_once_it_has_ended(settings, monkeypatch):
    backfill()
    _scanned()
    first = IndexedJob.objects.get(job_id=RETRYABLE)
    control.ask(RETRYABLE, int(views._now() * 1000), 60_000)
    later(monkeypatch, 3600)  # the list and the job as read before the retry are old now
    read = _reads(monkeypatch)
    backfill()
    running = IndexedJob.objects.filter(job_id=RETRYABLE).exclude(pk=first.pk).get()
    assert RETRYABLE in read
    assert running.state_key == job_state_key(get_gateway().job(RETRYABLE)) != first.state_key
    assert running.asked_by == AskedBy.BACKGROUND
    _scanned()
    # The retry ends: its entry in the list changes, and the ended state is asked for.
    settings.SANDBOX_TIME_OFFSET_SECONDS += 120
    later(monkeypatch, 7200)
    backfill()
    states = list(
        IndexedJob.objects.filter(job_id=RETRYABLE).order_by("pk").values_list("state_key", flat=True)
    )
    assert len(states) == len(set(states)) == 3
    ended = get_gateway().job(RETRYABLE)
    assert ended.is_terminal and states[-1] == job_state_key(ended)


def test_the_window_holds_only_jobs_created_within_it(settings):
    settings.INDEX_WINDOW_DAYS = 0.02  # the live jobs of the last half hour or so
    inside, outside = _window(0.02)
    backfill()
    asked = set(IndexedJob.objects.values_list("job_id", flat=True))
    assert asked == inside
    assert not asked & outside


# --- The queue: pages first ---------------------------------------------------------------------


def test_the_backfills_scans_wait_behind_a_pages_in_the_queue(settings, django_capture_on_commit_callbacks):
    settings.INDEX_WINDOW_DAYS = 9
    with django_capture_on_commit_callbacks(execute=True):
        backfill()
    queued = list(DBTaskResult.objects.all())
    assert queued and {(task.priority, task.queue_name) for task in queued} == {
        (BACKGROUND_PRIORITY, "background")
    }
    gateway = get_gateway()
    page_job = gateway.job(SHOWCASE["customers"])
    with django_capture_on_commit_callbacks(execute=True):
        page = sources.ask(page_job)
    page.refresh_from_db()
    task = DBTaskResult.objects.get(id=page.task_id)
    assert (task.priority, task.queue_name) == (0, "default")
    with transaction.atomic():
        # What a database worker takes next: the page's, though enqueued last.
        assert DBTaskResult.objects.ready().get_locked() == task


def test_a_page_asking_for_an_index_the_backfill_queued_moves_it_ahead(
    settings, django_capture_on_commit_callbacks
):
    settings.INDEX_WINDOW_DAYS = 9
    with django_capture_on_commit_callbacks(execute=True):
        backfill()
    queued = IndexedJob.objects.order_by("pk").last()
    job = get_gateway().job(queued.job_id)
    with django_capture_on_commit_callbacks(execute=True):
        asked = sources.ask(job)
        assert sources.ask(job).pk == asked.pk  # a second page joins: no third task
    assert asked.pk == queued.pk
    asked.refresh_from_db()
    assert (asked.asked_by, asked.status) == (AskedBy.PAGE, Status.QUEUED)
    tasks = DBTaskResult.objects.filter(args_kwargs__kwargs__job_id=queued.job_id)
    assert sorted(task.priority for task in tasks) == [BACKGROUND_PRIORITY, 0]
    assert asked.task_id == str(tasks.get(priority=0).id)
    with transaction.atomic():
        assert str(DBTaskResult.objects.ready().get_locked().id) == asked.task_id


def test_a_backfill_index_a_page_asks_for_later_is_not_the_backfills_any_more_once_made(
    django_capture_on_commit_callbacks,
):
    # Once made, an index is read whoever asked: a page joins it as it is.
    backfill()
    made = IndexedJob.objects.order_by("pk").first()
    IndexedJob.objects.filter(pk=made.pk).update(status=Status.DONE)
    with django_capture_on_commit_callbacks(execute=True):
        asked = sources.ask(get_gateway().job(made.job_id))
    assert (asked.pk, asked.status, asked.asked_by) == (made.pk, Status.DONE, AskedBy.BACKGROUND)
    assert not DBTaskResult.objects.exists()


def test_one_worker_of_those_sharing_a_cache_runs_a_round_in_a_period(settings, clock):
    settings.INDEX_BACKFILL_SECONDS = 60
    assert take_turn()
    assert not take_turn()  # another worker, within the period
    clock.advance(61)
    assert take_turn()


# --- The budget -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("share", "expected"), [(3, 3), (8, 8), (20, 8)])
def test_a_backfill_scan_reads_at_most_its_share_of_pages_at_once(settings, share, expected):
    settings.SCAN_CONCURRENCY = 8
    settings.INDEX_BACKFILL_CONCURRENCY = share
    assert scan_concurrency(IndexedJob(asked_by=AskedBy.BACKGROUND)) == expected
    assert scan_concurrency(IndexedJob(asked_by=AskedBy.PAGE)) == 8


def test_a_backfill_scan_reads_the_failures_that_many_pages_at_once(settings, monkeypatch):
    settings.SCAN_CONCURRENCY = 8
    settings.INDEX_BACKFILL_CONCURRENCY = 2
    pools = []
    real = streaming.ThreadPoolExecutor

    def recorded(*, max_workers, **kwargs):
        pools.append(max_workers)
        return real(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(streaming, "ThreadPoolExecutor", recorded)
    gateway = get_gateway()
    job = gateway.job(SHOWCASE["customers"])
    scope = scope_of(gateway)
    for asked_by in (AskedBy.BACKGROUND, AskedBy.PAGE):
        indexed = IndexedJob(
            base_url=scope.base_url,
            key_fingerprint=scope.key_fingerprint,
            job_id=job.id,
            state_key=job_state_key(job),
            asked_by=asked_by,
            updated_at=timezone.now(),
        )
        found = sources.meteroid_rows(indexed)
        assert sum(1 for _ in found.rows) >= job.failure_count
    assert pools == [2, 8]
