"""What a page knows of a job's failures as the index holds them: read (the index's summary,
`IndexResult`), being read (progress every process sees), or not readable (and why).

`scan_status(job)` is what a page asks. An ended job is read once per state (a retry is a
new state); an active one is read again at most every ACTIVE_FRESH_SECONDS while people look
at it, the last index shown meanwhile, marked provisional. Asking enqueues the scan (see
`indexing.request_index`): no page reads Meteroid's whole job itself.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.utils import timezone

from dashboard.failures.chunks import ChunkSummary, chunk_summary
from dashboard.failures.reasons import GroupSummary, pattern_of
from dashboard.failures.whole_chunks import reads_chunk_rows
from dashboard.index import indexing
from dashboard.index.models import IndexedJob
from dashboard.index.sources import scope_of
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.gateway import Gateway, get_gateway
from dashboard.meteroid.records import JobDetail

State = Literal["running", "failed", "done"]
Status = IndexedJob.Status
ACTIVE_FRESH_SECONDS = 15  # how long an active job's index is shown before it is read again
POLL_SECONDS = 0.1
READING_CHUNK_ROWS = "Every failure record is read; now the rows of whole failed chunks, from the errors CSV."
RESULTS_KEPT = 64  # summaries of published indexes kept made up in each process
PUBLISHED_KEPT_SECONDS = 15  # how long a process takes an ended job's published index as read


@dataclass(frozen=True, slots=True)
class IndexResult:
    """What a published index says of its job, small enough to read on every page view."""

    index_pk: int | None  # None: a job with nothing to read, answered without an index
    job_id: str
    chunks: tuple[ChunkSummary, ...]
    scanned: int  # failures held: failure records and rows of whole failed chunks
    total_count: int  # failures Meteroid announced
    capped: bool  # the job has more failures than SCAN_MAX_FAILURES
    provisional: bool  # the job is still active: the index will change
    finished_at: float
    groups: tuple[GroupSummary, ...] = ()  # the largest reason groups, largest first
    group_count: int = 0  # reason groups in all
    chunk_rows: int = 0  # rows of whole failed chunks, read from the errors CSV (in `scanned`)
    failed_chunks: int = 0  # whole failed chunks they belong to
    unreadable: int = 0  # rows of those chunks not in the errors CSV: they do not parse
    chunk_rows_problem: str = ""  # why rows lost with whole chunks could not be read, if so
    # The errors of the whole failed chunks, with how many chunks ended with each, most first.
    chunk_errors: tuple[tuple[str, int], ...] = ()
    records_apart: int = 0  # failure records without a row number: left out of everything
    records_unreadable: int = 0  # failure records kept with a field that could not be read

    @property
    def records(self) -> int:
        """Failure records held (the rest of `scanned` are rows of whole failed chunks)."""
        return self.scanned - self.chunk_rows

    def has_chunk(self, chunk_id: str) -> bool:
        return any(chunk.chunk_id == chunk_id for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class ScanStatus:
    """A job's failures as a page can show them: `done` with the result, or progress."""

    state: State
    fetched: int = 0
    total: int | None = None
    message: str = ""
    result: IndexResult | None = None
    refreshing: bool = False  # a newer reading of the (active) job is on its way
    reread_problem: str = ""  # why the last reading of the (active) job failed, the older one on show
    index: IndexedJob | None = None  # the published index the result is of

    @property
    def percent(self) -> int:
        if not self.total:
            return 0
        return min(100, int(100 * self.fetched / self.total))


def scan_status(job: JobDetail, *, gateway: Gateway | None = None) -> ScanStatus:
    """The index of `job`: its result if it is published, else its progress (asking for it
    if nobody has)."""
    gateway = gateway or get_gateway()
    if nothing_to_read(job):
        return ScanStatus("done", result=empty_result(job))
    scope = scope_of(gateway)
    if job.is_terminal:
        return _status(_ended_index(scope, job), job)
    latest = indexing.current_index(scope, job.id)
    if latest is not None and not latest.active:
        # Read once the job had ended: a retry has reopened it, and those failures are
        # another run's.
        latest = None
    pending = _pending(scope, job.id)
    if latest is not None and (pending is not None or _fresh(latest)):
        return _done(latest, job, refreshing=pending is not None)
    asked = indexing.request_index(scope, job.id, job_state_key(job))
    if latest is not None and asked.status != Status.DONE:
        failed = asked.status == Status.FAILED
        return _done(latest, job, refreshing=not failed, reread_problem=asked.error if failed else "")
    return _status(asked, job)


def _ended_index(scope: indexing.Scope, job: JobDetail) -> IndexedJob:
    """The index of an ended job in its state, asked for. Once published it never changes
    (a retry is another state, asked under another key): each process keeps it for
    PUBLISHED_KEPT_SECONDS, so that every view of it does not ask the database again."""
    key = (scope, job.id, job_state_key(job))
    now = time.monotonic()
    with _published_lock:
        found = _published.get(key)
        if found is not None and found[1] > now:
            _published.move_to_end(key)
            return found[0]
    indexed = indexing.request_index(scope, job.id, key[2])
    if indexed.status == Status.DONE:
        with _published_lock:
            _published[key] = (indexed, now + PUBLISHED_KEPT_SECONDS)
            while len(_published) > RESULTS_KEPT:
                _published.popitem(last=False)
    return indexed


_published: OrderedDict[tuple, tuple[IndexedJob, float]] = OrderedDict()
_published_lock = threading.Lock()


def forget_published() -> None:
    """Forget the published indexes this process keeps (a database emptied under it: tests)."""
    with _published_lock:
        _published.clear()


def retry_scan(job: JobDetail, *, gateway: Gateway | None = None) -> ScanStatus:
    """Ask again for an index whose scan failed."""
    gateway = gateway or get_gateway()
    if not nothing_to_read(job):
        indexing.request_index(scope_of(gateway), job.id, job_state_key(job), retry=True)
    return scan_status(job, gateway=gateway)


def refresh_scan(job: JobDetail, *, gateway: Gateway | None = None) -> ScanStatus:
    """Read `job` again on demand: a failed scan is tried again, and an active job is read
    again now, its last index on show until the new one replaces it. (An ended job's
    index is of its state: a retry changes the state, and with it the index asked for.)"""
    gateway = gateway or get_gateway()
    if not nothing_to_read(job):
        indexing.request_index(scope_of(gateway), job.id, job_state_key(job), retry=True)
    return scan_status(job, gateway=gateway)


def settled(job: JobDetail, scan: ScanStatus, wait: float, *, gateway: Gateway | None = None) -> ScanStatus:
    """The index of `job`, given `wait` seconds to be published if it is being read."""
    deadline = time.monotonic() + wait
    while scan.state == "running" and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        scan = scan_status(job, gateway=gateway)
    return scan


def nothing_to_read(job: JobDetail) -> bool:
    """Whether the job has ended without a failure to read: answered without an index."""
    return job.failure_count == 0 and job.is_terminal and not reads_chunk_rows(job)


def empty_result(job: JobDetail) -> IndexResult:
    return IndexResult(None, job.id, (), 0, 0, False, False, time.time())


def _pending(scope: indexing.Scope, job_id: str) -> IndexedJob | None:
    """A scan of the job waiting or under way, whatever state it reads (reclaimed if its
    worker is gone)."""
    found = (
        IndexedJob.objects.filter(
            base_url=scope.base_url,
            key_fingerprint=scope.key_fingerprint,
            job_id=job_id,
            status__in=(Status.QUEUED, Status.RUNNING),
        )
        .order_by("-created_at")
        .first()
    )
    if found is None:
        return None
    found = indexing.reclaim_if_stale(found)
    return found if found.status in (Status.QUEUED, Status.RUNNING) else None


def _fresh(indexed: IndexedJob) -> bool:
    finished = indexed.finished_at or indexed.updated_at
    return finished >= timezone.now() - timedelta(seconds=ACTIVE_FRESH_SECONDS)


def _status(indexed: IndexedJob, job: JobDetail) -> ScanStatus:
    if indexed.status == Status.DONE:
        return _done(indexed, job)
    if indexed.status == Status.FAILED:
        return ScanStatus("failed", indexed.fetched, indexed.total, indexed.error)
    total = indexed.total
    if total is None and job.failure_count and job.failure_count > 0:
        total = job.failure_count
    message = ""
    if indexed.status == Status.RUNNING and total and indexed.fetched >= total and reads_chunk_rows(job):
        message = READING_CHUNK_ROWS
    return ScanStatus("running", indexed.fetched, total, message)


def _done(
    indexed: IndexedJob, job: JobDetail, *, refreshing: bool = False, reread_problem: str = ""
) -> ScanStatus:
    result = result_of(indexed, job)
    return ScanStatus(
        "done",
        result.scanned,
        result.scanned,
        result=result,
        refreshing=refreshing,
        index=indexed,
        reread_problem=reread_problem,
    )


_results: OrderedDict[tuple, IndexResult] = OrderedDict()
_results_lock = threading.Lock()


def result_of(indexed: IndexedJob, job: JobDetail) -> IndexResult:
    """The summary of a published index, for `job` as just read (whose chunk size places
    the chunks in the file, and whose activity makes it provisional). A published index
    never changes: each process makes it up once."""
    memo_key = (indexed.pk, indexed.finished_at, job.chunk_size, job.total_items, job.is_active)
    with _results_lock:
        found = _results.get(memo_key)
        if found is not None:
            _results.move_to_end(memo_key)
            return found
    found = _result(indexed, job)
    with _results_lock:
        _results[memo_key] = found
        while len(_results) > RESULTS_KEPT:
            _results.popitem(last=False)
    return found


def _result(indexed: IndexedJob, job: JobDetail) -> IndexResult:
    summary = indexed.summary or {}
    scanned = indexed.records + indexed.chunk_rows
    chunks = tuple(
        chunk_summary(
            chunk_id, first - 1, last - 1, count, chunk_size=job.chunk_size, total_items=job.total_items
        )
        for chunk_id, first, last, count in summary.get("chunks", ())
        if chunk_id  # a record whose chunk id Meteroid left unreadable is in no chunk
    )
    groups = tuple(
        GroupSummary(pattern_of(example).template, count, count / scanned if scanned else 0.0)
        for _key, count, example, _first in summary.get("groups", ())
    )
    announced = indexed.total or 0
    if indexed.capped and job.failure_count:
        announced = max(announced, job.failure_count)
    return IndexResult(
        index_pk=indexed.pk,
        job_id=indexed.job_id,
        chunks=chunks,
        scanned=scanned,
        total_count=max(announced - indexed.chunk_rows, indexed.records) if not indexed.capped else announced,
        capped=indexed.capped,
        provisional=job.is_active,
        finished_at=indexed.finished_at.timestamp() if indexed.finished_at else 0.0,
        groups=groups,
        group_count=summary.get("group_count", 0),
        chunk_rows=indexed.chunk_rows,
        failed_chunks=indexed.failed_chunks,
        unreadable=indexed.unreadable_rows,
        chunk_rows_problem=indexed.chunk_rows_problem,
        chunk_errors=tuple((message, count) for message, count in indexed.chunk_errors),
        records_apart=indexed.records_apart,
        records_unreadable=indexed.records_unreadable,
    )
