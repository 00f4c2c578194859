"""The life of an index: asked for, scanned by one worker at a time, published whole, pruned.

- `request_index` is what a page calls: the first request for a job and state makes its
  `IndexedJob` (unique per Meteroid, job and state) and enqueues one `scan_job` task; every
  later request, from any process, finds that row and joins it.
- A worker's task first takes the row's lease (a conditional UPDATE: one holder at a time),
  keeps it alive from a heartbeat thread, and writes the rows in batches, each in a
  transaction that renews the lease last: a worker that lost its lease keeps nothing more of
  what it writes. On PostgreSQL, INDEX_WRITERS connections write batches side by side.
- The django-tasks-db worker marks a task running and never looks at it again: a worker
  that dies mid-scan leaves it so. Here the lease expires instead, and `reclaim_if_stale`
  (run by the next request for the job, and by every worker's sweeper) puts the index back
  in the queue with a new task; the scan that takes it over deletes what the dead one wrote
  and starts again. Failure records are unique per index in the database besides.
- `publish` marks the index done and the job's older indexes superseded in one transaction:
  readers find either the old complete index or the new complete one. It counts the index's
  reason groups there, once, for its summary and its causes (what pages across jobs add up).
"""

from __future__ import annotations

import contextvars
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Full, Queue

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.tasks import TaskResultStatus, default_task_backend
from django.tasks.base import DEFAULT_TASK_PRIORITY
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

from dashboard.index.models import IndexedCause, IndexedFailure, IndexedInputRow, IndexedJob
from dashboard.index.queries import ReasonGroup, reason_groups, summary_of
from dashboard.index.rows import INPUT, FailureRow, InputRow, storable
from dashboard.index.writer import write_failures, write_input_rows

logger = logging.getLogger(__name__)

Status = IndexedJob.Status
AskedBy = IndexedJob.AskedBy
BATCH_ROWS = 5000  # rows per write: one transaction, one lease check, one progress step
BATCH_SECONDS = 1.0  # and at least this often while rows come
CAUSES_BATCH = 500  # causes per INSERT at publish (most indexes have a few dozen)
SUPERSEDED_GRACE = timedelta(minutes=10)  # how long a replaced index stays for pages reading it
# The queue's priority of a scan asked for no page anyone looks at: below a page's, so that
# the database worker takes every scan a page waits for first.
BACKGROUND_PRIORITY = DEFAULT_TASK_PRIORITY - 10
# ... and its queue: a worker keeps one of its scans for the default queue, pages' (see
# `index_worker`), so that a page's scan never waits for the backfill's to end.
BACKGROUND_QUEUE = "background"


@dataclass(frozen=True, slots=True)
class Scope:
    """One Meteroid as one API key sees it: its base URL and the key's fingerprint."""

    base_url: str
    key_fingerprint: str


@dataclass(slots=True)
class Rows:
    """What a source gives for one scan: the total it announced, and the rows. `notes` are
    fields of the index that the source can tell only once its rows are read (why the rows
    of whole failed chunks could not be, say): stored with the index when it is published."""

    total: int
    rows: Iterator[FailureRow | InputRow]
    capped: bool = False
    notes: dict[str, object] = field(default_factory=dict)


# A source reads the failures of an index's job and state: `sources.meteroid_rows`.
type Source = Callable[[IndexedJob], Rows]


class LeaseLost(Exception):
    """Another worker took the scan over: this one must write nothing more."""


class ScanFailed(Exception):
    """A scan cannot be done, for a reason people can read."""


def _lease() -> timedelta:
    return timedelta(seconds=settings.INDEX_LEASE_SECONDS)


def _of(scope: Scope, job_id: str):
    return IndexedJob.objects.filter(
        base_url=scope.base_url, key_fingerprint=scope.key_fingerprint, job_id=job_id
    )


# --- Asking -----------------------------------------------------------------------------------


def request_index(
    scope: Scope, job_id: str, state_key: str, *, retry: bool = False, background: bool = False
) -> IndexedJob:
    """The index of `job_id` at `state_key`: made and enqueued on the first request, joined by
    the others while it is queued or running. A failed one stays failed unless `retry`.

    `background`: asked for no page anyone looks at (the backfill, a search across jobs
    reading the jobs of its window), so queued behind the scans that pages wait for; a page
    that asks for an index queued so moves it ahead (with a task of a page's priority)."""
    now = timezone.now()
    indexed, created = IndexedJob.objects.get_or_create(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        job_id=job_id,
        state_key=state_key,
        defaults={"updated_at": now, "asked_by": AskedBy.BACKGROUND if background else AskedBy.PAGE},
    )
    if created:
        transaction.on_commit(lambda: _enqueue(indexed.pk))
        return indexed
    if not background and indexed.asked_by == AskedBy.BACKGROUND and indexed.status == Status.QUEUED:
        _move_ahead(indexed, now=now)
    if retry and indexed.status == Status.FAILED:
        requeued = IndexedJob.objects.filter(pk=indexed.pk, status=Status.FAILED).update(
            status=Status.QUEUED, error="", attempts=0, task_id="", updated_at=now
        )
        if requeued:
            transaction.on_commit(lambda: _enqueue(indexed.pk))
        indexed.refresh_from_db()
        return indexed
    if indexed.status in (Status.QUEUED, Status.RUNNING):
        return reclaim_if_stale(indexed, now=now)
    return indexed


def current_index(scope: Scope, job_id: str, state_key: str | None = None) -> IndexedJob | None:
    """The published index of a job (at `state_key`, when given), or None."""
    found = _of(scope, job_id).filter(status=Status.DONE, superseded_at__isnull=True)
    if state_key is not None:
        found = found.filter(state_key=state_key)
    return found.order_by("-finished_at").first()


def _move_ahead(indexed: IndexedJob, *, now: datetime) -> None:
    """A page asks for an index queued in the background: it becomes a page's, with a task of
    a page's priority (the background task, run later, finds it done). Conditional, so that of
    several pages asking at once one enqueues."""
    moved = IndexedJob.objects.filter(
        pk=indexed.pk, status=Status.QUEUED, asked_by=AskedBy.BACKGROUND
    ).update(asked_by=AskedBy.PAGE, task_id="", updated_at=now)
    if moved:
        transaction.on_commit(lambda: _enqueue(indexed.pk))
    indexed.refresh_from_db()


def _enqueue(pk: int) -> None:
    from dashboard.index.tasks import scan_job

    indexed = IndexedJob.objects.get(pk=pk)
    background = indexed.asked_by == AskedBy.BACKGROUND
    queued = (
        scan_job.using(priority=BACKGROUND_PRIORITY, queue_name=BACKGROUND_QUEUE)
        if background
        else scan_job.using(priority=DEFAULT_TASK_PRIORITY)
    )
    result = queued.enqueue(
        base_url=indexed.base_url,
        key_fingerprint=indexed.key_fingerprint,
        job_id=indexed.job_id,
        state_key=indexed.state_key,
    )
    # Only while the index still waits for this task (an immediate backend has run it).
    IndexedJob.objects.filter(pk=pk, status=Status.QUEUED, task_id="").update(task_id=str(result.id))


# --- Taking over from a dead worker ---------------------------------------------------------


def _task_waiting(task_id: str, *, now: datetime) -> bool:
    """Whether the task still waits to be run, or runs and may yet take the lease, as its
    backend says (a worker that died between taking the task and the lease left it running)."""
    if not task_id or not default_task_backend.supports_get_result:
        return False
    try:
        result = default_task_backend.get_result(task_id)
    except TaskResultDoesNotExist:
        return False
    if result.status == TaskResultStatus.READY:
        return True
    return result.status == TaskResultStatus.RUNNING and (
        result.started_at is None or result.started_at >= now - _lease()
    )


def is_stale(indexed: IndexedJob, *, now: datetime) -> bool:
    """Whether the scan of `indexed` will not go on by itself: its worker stopped saying it
    is alive, or it has waited a lease's length for a task that is gone."""
    if indexed.status == Status.RUNNING:
        return indexed.heartbeat_at is None or indexed.heartbeat_at < now - _lease()
    if indexed.status == Status.QUEUED:
        return indexed.updated_at < now - _lease() and not _task_waiting(indexed.task_id, now=now)
    return False


def reclaim_if_stale(indexed: IndexedJob, *, now: datetime | None = None) -> IndexedJob:
    """Put a stale scan back in the queue with a new task (or fail it after
    INDEX_MAX_ATTEMPTS starts). Conditional on the row being as it was read, so that of
    several processes that find it stale at once, one reclaims it."""
    now = now or timezone.now()
    if not is_stale(indexed, now=now):
        return indexed
    same = IndexedJob.objects.filter(pk=indexed.pk, status=indexed.status, updated_at=indexed.updated_at)
    if indexed.status == Status.RUNNING:
        same = same.filter(heartbeat_at=indexed.heartbeat_at)
    if indexed.attempts >= settings.INDEX_MAX_ATTEMPTS:
        if same.update(
            status=Status.FAILED,
            error=f"The scan stopped {indexed.attempts} times without finishing. Try again.",
            lease_holder="",
            heartbeat_at=None,
            finished_at=now,
            updated_at=now,
        ):
            logger.warning("index of %s failed: its scan stopped %d times", indexed.job_id, indexed.attempts)
            _discard_rows(indexed.pk)
    elif same.update(status=Status.QUEUED, lease_holder="", heartbeat_at=None, task_id="", updated_at=now):
        logger.warning(
            "scan of %s stopped (worker %s gone): enqueued again", indexed.job_id, indexed.lease_holder
        )
        transaction.on_commit(lambda: _enqueue(indexed.pk))
    indexed.refresh_from_db()
    return indexed


def sweep(*, now: datetime | None = None) -> int:
    """Reclaim every stale scan; how many were found stale. Run by each worker's sweeper."""
    now = now or timezone.now()
    found = 0
    for indexed in IndexedJob.objects.filter(status__in=(Status.QUEUED, Status.RUNNING)).iterator():
        if is_stale(indexed, now=now):
            found += 1
            reclaim_if_stale(indexed, now=now)
    return found


# --- Scanning -------------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(indexed: IndexedJob, holder: str) -> bool:
    """Take the lease of a queued index, or of a running one whose worker is gone."""
    now = timezone.now()
    return bool(
        IndexedJob.objects.filter(pk=indexed.pk, status__in=(Status.QUEUED, Status.RUNNING))
        .filter(Q(lease_holder="") | Q(heartbeat_at__lt=now - _lease()))
        .update(
            status=Status.RUNNING,
            lease_holder=holder,
            heartbeat_at=now,
            started_at=now,
            attempts=F("attempts") + 1,
            fetched=0,
            records=0,
            chunk_rows=0,
            input_row_count=0,
            error="",
            updated_at=now,
        )
    )


class Heartbeat(threading.Thread):
    """Renews a lease (and writes progress) every few seconds, from its own connection, so
    that a slow page from Meteroid does not pass for a dead worker."""

    def __init__(self, pk: int, holder: str) -> None:
        super().__init__(name=f"index-heartbeat-{pk}", daemon=True)
        self.pk = pk
        self.holder = holder
        self.fetched = 0
        self.every = min(5.0, settings.INDEX_LEASE_SECONDS / 4)
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.every):
                try:
                    renewed = IndexedJob.objects.filter(pk=self.pk, lease_holder=self.holder).update(
                        heartbeat_at=timezone.now(), fetched=self.fetched
                    )
                except Exception:  # a database hiccup: the next beat tries again
                    logger.exception("heartbeat of index %s failed", self.pk)
                    continue
                if not renewed:  # the lease is another's (the scan's next batch finds it so)
                    return
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(10)


def _batches(rows: Iterable[FailureRow], size: int, seconds: float) -> Iterator[list[FailureRow]]:
    """`size` rows at a time, or what came in `seconds`: rows from a slow Meteroid are not
    held back (nor is the progress they make)."""
    batch: list[FailureRow] = []
    started = time.monotonic()
    for row in rows:
        batch.append(row)
        if len(batch) >= size or time.monotonic() - started >= seconds:
            yield batch
            batch = []
            started = time.monotonic()
    if batch:
        yield batch


_END = object()


@contextmanager
def _read_ahead(batches: Iterator[list[FailureRow]], depth: int) -> Iterator[Iterator[list[FailureRow]]]:
    """The batches, read by a thread of their own up to `depth` ahead of the writing: Meteroid's
    pages keep coming while the database writes. The reading stops when the writing does."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.2)
                return
            except Full:
                continue

    def read() -> None:
        try:
            for batch in batches:
                put(batch)
                if stop.is_set():
                    return
            put(_END)
        except BaseException as exc:  # handed to the writing thread, which raises it
            put(exc)

    def taken() -> Iterator[list[FailureRow]]:
        while (item := queue.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item

    # The reading carries the scan's context (its log level for routine calls, say).
    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(read,), daemon=True, name="index-read"
    )
    thread.start()
    try:
        yield taken()
    finally:
        stop.set()


@dataclass
class _Writing:
    """What the writing of one scan's batches shares between its connections."""

    indexed: IndexedJob
    holder: str
    beat: Heartbeat
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, batch: list[FailureRow]) -> None:
        """One batch, in one transaction that renews the lease last. Taken over meanwhile,
        the renewal finds the lease another worker's and the batch is rolled back; taken over
        after, the batch is deleted with the rest by the worker that took it (which starts
        from the top). The renewal alone says whether the lease is still this worker's: the
        heartbeat's own connection may not see the row yet (a scan run inside a transaction,
        as a test's is)."""
        failures = [row for row in batch if row.source != INPUT]
        inputs = [row for row in batch if row.source == INPUT]
        with transaction.atomic():
            records, chunk_rows = write_failures(self.indexed, failures) if failures else (0, 0)
            read = write_input_rows(self.indexed, inputs) if inputs else 0
            with self.lock:
                self.beat.fetched += len(failures)
                fetched = self.beat.fetched
            _renew(
                self.indexed.pk,
                self.holder,
                fetched=fetched,
                records=F("records") + records,
                chunk_rows=F("chunk_rows") + chunk_rows,
                input_row_count=F("input_row_count") + read,
            )


def _writers(read_ahead: int) -> int:
    """Connections that write a scan's batches: INDEX_WRITERS on PostgreSQL (its rows and
    their indexes are written by as many server processes side by side); one on SQLite,
    which writes one transaction at a time, and when the rows are read in the writing thread."""
    if not read_ahead or connections[router.db_for_write(IndexedFailure)].vendor != "postgresql":
        return 1
    return settings.INDEX_WRITERS


def _write_batches(batches: Iterator[list[FailureRow]], writing: _Writing, *, writers: int) -> None:
    """Write every batch, from `writers` threads (each with its own connection) taking the
    next batch in turn; the first error stops them all and is raised here."""
    if writers <= 1:
        for batch in batches:
            writing.write(batch)
        return
    taking = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not stop.is_set():
                with taking:
                    batch = next(batches, None)
                if batch is None or stop.is_set():
                    return
                writing.write(batch)
        except BaseException as exc:  # raised by the scan's own thread
            errors.append(exc)
            stop.set()
        finally:
            connections.close_all()

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run, args=(work,), name=f"index-write-{n}", daemon=True
        )
        for n in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        # A lost lease first: the other writers' errors may only follow from it.
        raise next((exc for exc in errors if isinstance(exc, LeaseLost)), errors[0])


def run_scan(indexed: IndexedJob, source: Source, *, holder: str | None = None, read_ahead: int = 2) -> str:
    """Scan `indexed` from `source` if no live worker scans it: "done", "failed", "joined"
    (another worker has it) or "lost" (another worker took it over meanwhile). The source is
    read `read_ahead` batches ahead of the writing, in a thread (0: in this one).

    The scan runs in a context of its own: what the source sets there (the log level of its
    routine calls) ends with it, not with the thread that ran it (a web request's, say)."""
    return contextvars.copy_context().run(_run_scan, indexed, source, holder, read_ahead)


def _run_scan(indexed: IndexedJob, source: Source, holder: str | None, read_ahead: int) -> str:
    holder = holder or worker_name()
    if not claim(indexed, holder):
        return "joined"
    beat = Heartbeat(indexed.pk, holder)
    beat.start()
    try:
        # What a dead worker wrote of this index goes: the scan starts again from the top.
        _discard_rows(indexed.pk)
        found = source(indexed)
        _renew(indexed.pk, holder, total=found.total, capped=found.capped)
        batches = _batches(found.rows, BATCH_ROWS, BATCH_SECONDS)
        with _read_ahead(batches, read_ahead) if read_ahead else nullcontext(batches) as ready:
            _write_batches(ready, _Writing(indexed, holder, beat), writers=_writers(read_ahead))
        publish(indexed, holder, **found.notes)
    except LeaseLost:
        logger.warning("scan of %s was taken over by another worker; this one stops", indexed.job_id)
        return "lost"
    except ScanFailed as exc:
        _fail(indexed, holder, str(exc))
        return "failed"
    except Exception:
        logger.exception("scan of %s failed", indexed.job_id)
        _fail(indexed, holder, "The scan stopped on an unexpected error.")
        raise
    finally:
        beat.stop()
    return "done"


def _discard_rows(pk: int) -> None:
    """Delete the rows written into an index (failures and input rows), not the index."""
    IndexedFailure.objects.filter(indexed_job_id=pk).delete()
    IndexedInputRow.objects.filter(indexed_job_id=pk).delete()


def _renew(pk: int, holder: str, **fields) -> None:
    now = timezone.now()
    if not IndexedJob.objects.filter(pk=pk, lease_holder=holder).update(
        heartbeat_at=now, updated_at=now, **storable(fields)
    ):
        raise LeaseLost


def publish(indexed: IndexedJob, holder: str, **notes) -> None:
    """Mark the index done, and the job's older indexes (other states) superseded, at once.
    Input rows read only in part (the file turned out too large) are not kept. Its reason
    groups are counted once, for its summary and its causes (`IndexedCause`)."""
    # Counted before the transaction: the rows are all written and only this lease holder
    # writes them, and a database that takes one writer at a time (SQLite) is not held for
    # the reading of a quarter of a million rows.
    groups = reason_groups(indexed)
    summary = summary_of(indexed, groups)
    now = timezone.now()
    with transaction.atomic():
        _renew(indexed.pk, holder, **notes)
        if not notes.get("input_rows_read"):
            IndexedInputRow.objects.filter(indexed_job_id=indexed.pk).delete()
            IndexedJob.objects.filter(pk=indexed.pk).update(input_row_count=0)
        write_causes(indexed, groups)
        IndexedJob.objects.filter(pk=indexed.pk).update(
            status=Status.DONE,
            fetched=F("records") + F("chunk_rows"),
            lease_holder="",
            finished_at=now,
            summary=summary,
        )
        others = (
            IndexedJob.objects.filter(
                base_url=indexed.base_url,
                key_fingerprint=indexed.key_fingerprint,
                job_id=indexed.job_id,
                status=Status.DONE,
                superseded_at__isnull=True,
            )
            .exclude(pk=indexed.pk)
            .only("pk", "created_at")
        )
        older = [other.pk for other in others if other.created_at <= indexed.created_at]
        newer = len(older) < len(others)
        IndexedJob.objects.filter(pk__in=older).update(superseded_at=now, updated_at=now)
        if newer:  # a later state was published first: this one is already history
            IndexedJob.objects.filter(pk=indexed.pk).update(superseded_at=now)


def write_causes(indexed: IndexedJob, groups: Iterable[ReasonGroup]) -> None:
    """The index's causes, one per reason group (`queries.reason_groups`), for the pages
    across jobs: a few rows to add up where the window's failures are a million."""
    IndexedCause.objects.bulk_create(
        (
            IndexedCause(
                indexed_job_id=indexed.pk, pattern_key=g.pattern_key, failed=g.count, example=g.example
            )
            for g in groups
        ),
        batch_size=CAUSES_BATCH,
    )


def _fail(indexed: IndexedJob, holder: str, message: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        if IndexedJob.objects.filter(pk=indexed.pk, lease_holder=holder).update(
            status=Status.FAILED,
            error=storable(message),
            lease_holder="",
            heartbeat_at=None,
            finished_at=now,
            updated_at=now,
        ):
            _discard_rows(indexed.pk)


# --- Pruning --------------------------------------------------------------------------------


def prune(*, now: datetime | None = None) -> int:
    """Delete indexes older than INDEX_RETENTION_DAYS, and those superseded a while ago;
    how many. The database deletes their failures with them."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.INDEX_RETENTION_DAYS)
    old = IndexedJob.objects.filter(
        Q(created_at__lt=cutoff) | Q(superseded_at__lt=now - SUPERSEDED_GRACE)
    ).exclude(status=Status.RUNNING, heartbeat_at__gte=now - _lease())
    deleted = old.count()
    old.delete()
    return deleted
