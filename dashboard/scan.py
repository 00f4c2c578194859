"""Whole-job scans: every failure of a job, fetched once and shared by every view and process.

The REST API gives a job's failures 100 at a time and has no call that lists chunks, so
anything computed over the whole job (the chunk list, and what builds on it) needs a scan.
This module owns that scan:

- it pages through the job with `SCAN_CONCURRENCY` requests in flight;
- it runs once per job however many people ask, across processes too: a lock in the shared
  cache decides who scans, and progress is written to the cache for everyone to read;
- it stores the result in the cache under the job's state (`job_state_key`) once the job has
  ended, for long: that state's failures never change, and a retry that reopens the job
  gives it another state, whose scan is another; while the job is active, under the job
  alone and briefly (the last result keeps being shown, marked provisional, while a new scan
  refreshes it);
- a scan that fails says so and is retried only when someone asks: a half result is never
  stored as a whole one;
- for an ended job with rows lost with whole failed chunks (`failed_items > failure_count`),
  it reads those rows from Meteroid's errors CSV, matched against the input file
  (`dashboard.whole_chunks`), and holds them beside the failure records, under the chunk's
  row range (`rows-51-100`) for a chunk id.

Views ask `scan_status(job)`: either the result (`state == "done"`) or progress to show.
"""

from __future__ import annotations

import contextvars
import csv
import hashlib
import logging
import threading
import time
import uuid
from array import array
from collections import Counter, OrderedDict, deque
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Literal

from django.conf import settings
from django.core.cache import cache

from dashboard.analysis import analysis_of
from dashboard.chunks import ChunkSummary, summarize_chunks
from dashboard.csv_files import errors_delimiter, records, sniff_delimiter, text_lines
from dashboard.meteroid import deadline
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.client import routine_call_level
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.gateway import Gateway, get_gateway
from dashboard.meteroid.records import Failure, FailureColumns, FailurePage, JobDetail, number
from dashboard.pickling import PickledByFields
from dashboard.reasons import GroupSummary, summarize_groups
from dashboard.whole_chunks import ChunkRows, NotRecovered, recover

logger = logging.getLogger(__name__)

SCAN_VERSION = 3
PAGE_SIZE = 100  # the most the API gives in one call
LOCK_SECONDS = 30  # a scanner that stops refreshing its lock for this long is presumed dead
PROGRESS_EVERY = 0.25  # seconds between progress writes
ACTIVE_FRESH_SECONDS = 15  # how long an active job's result is shown before it is refreshed
FAILED_SECONDS = 300  # how long a failed scan is remembered (and not retried by itself)
KEEP_SECONDS = 60 * 60 * 24 * 7  # how long any result is kept at all
CHUNK_ERRORS_KEPT = 5  # distinct errors of whole failed chunks a result names
SUMMARY_GROUPS = 100  # reason groups a result names (the job page's summary and filter)
# What the rows of a whole failed chunk give as their reason: their own pattern, apart from any
# failure record's, with the chunk's error (as Meteroid wrote it in the errors CSV) after it.
WHOLE_CHUNK_REASON = "Chunk failed as a whole: "
READING_CHUNK_ROWS = "Every failure record is read; now the rows of whole failed chunks, from the errors CSV."

State = Literal["running", "failed", "done"]
ACTIVE_SLOT = "active"


@dataclass(frozen=True, slots=True)
class FailureSet:
    """Every failure of a job (up to the cap), held column-wise to stay small.

    Failure ids are not kept: nothing shown over a whole job needs them.
    """

    job_id: str
    item_indices: array  # array("q"), ascending
    chunk_ids: tuple[str, ...]  # distinct chunk ids, in order of first appearance
    chunk_refs: array  # array("I"): per failure, its position in chunk_ids
    identifiers: tuple[str | None, ...]
    reasons: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.item_indices)

    def chunk_pairs(self) -> Iterator[tuple[str, int]]:
        ids = self.chunk_ids
        return ((ids[ref], index) for ref, index in zip(self.chunk_refs, self.item_indices, strict=True))

    def rows(self) -> Iterator[tuple[int, str | None, str, str]]:
        """(item_index, identifier, reason, chunk_id) per failure, in file order."""
        ids = self.chunk_ids
        return (
            (index, ident, reason, ids[ref])
            for index, ident, reason, ref in zip(
                self.item_indices, self.identifiers, self.reasons, self.chunk_refs, strict=True
            )
        )


@dataclass(frozen=True, slots=True)
class ScanResult(PickledByFields):
    """What a finished scan knows, small enough to read on every page view."""

    job_id: str
    chunks: tuple[ChunkSummary, ...]
    scanned: int  # failures held in the FailureSet
    total_count: int  # failure_count that Meteroid reported when the scan began
    capped: bool  # the job has more failures than SCAN_MAX_FAILURES
    provisional: bool  # the job was still active: the result will change
    finished_at: float
    fresh_until: float
    groups: tuple[GroupSummary, ...] = ()  # the largest reason groups, largest first
    group_count: int = 0  # reason groups in all
    slot: str = ACTIVE_SLOT  # what it is kept under (`_slot`): the job's ended state, or active
    chunk_rows: int = 0  # rows of whole failed chunks, read from the errors CSV (in `scanned`)
    failed_chunks: int = 0  # whole failed chunks they belong to
    unreadable: int = 0  # rows of those chunks that are not in the errors CSV: they do not parse
    chunk_rows_problem: str = ""  # why rows lost with whole chunks could not be read, if so
    # The errors of the whole failed chunks (as in the errors CSV), with how many chunks ended
    # with each, most first: what a failed job without failure records can say of itself.
    chunk_errors: tuple[tuple[str, int], ...] = ()
    records_apart: int = 0  # failure records without a row number: left out of everything
    records_unreadable: int = 0  # failure records kept with a field that could not be read

    @property
    def records(self) -> int:
        """Failure records held (the rest of `scanned` are rows of whole failed chunks)."""
        return self.scanned - self.chunk_rows

    @property
    def fresh(self) -> bool:
        return time.time() < self.fresh_until

    def has_chunk(self, chunk_id: str) -> bool:
        return any(chunk.chunk_id == chunk_id for chunk in self.chunks)


@dataclass(frozen=True, slots=True)
class ScanStatus:
    state: State
    fetched: int = 0
    total: int | None = None
    message: str = ""
    result: ScanResult | None = None
    refreshing: bool = False

    @property
    def percent(self) -> int:
        if not self.total:
            return 0
        return min(100, int(100 * self.fetched / self.total))


@dataclass
class _Keys:
    lock: str
    progress: str
    result: str
    failures: str


def _slot(job: JobDetail) -> str:
    """What a scan of `job` is kept under: its state once it has ended (a scan of one state
    is never shown for another), or one place for all its active moments (shown, marked
    provisional, while the next refreshes it)."""
    return job_state_key(job) if job.is_terminal else ACTIVE_SLOT


def _keys(gateway: Gateway, job_id: str, slot: str) -> _Keys:
    digest = hashlib.sha256(
        f"{gateway.base_url}|{gateway.client.key_fingerprint}|{job_id}|{slot}|{SCAN_VERSION}".encode()
    ).hexdigest()[:40]
    base = f"scan:{digest}"
    return _Keys(f"{base}:lock", f"{base}:progress", f"{base}:result", f"{base}:failures")


def _keys_of(gateway: Gateway, job: JobDetail) -> _Keys:
    return _keys(gateway, job.id, _slot(job))


def scan_status(job: JobDetail, *, gateway: Gateway | None = None) -> ScanStatus:
    """The scan of `job`: its result if there is one, else its progress (starting it if needed)."""
    gateway = gateway or get_gateway()
    keys = _keys_of(gateway, job)
    if job.failure_count == 0 and job.is_terminal and not reads_chunk_rows(job):
        # Nothing to page through: answer at once, without a call.
        now = time.time()
        empty = ScanResult(job.id, (), 0, 0, False, False, now, now + KEEP_SECONDS)
        return ScanStatus("done", result=empty)
    result = _safe_get(keys.result)
    if isinstance(result, ScanResult) and _matches(result, job):
        refreshing = False
        if not result.fresh:
            refreshing = _start(gateway, job, keys)
        return ScanStatus(
            "done", fetched=result.scanned, total=result.scanned, result=result, refreshing=refreshing
        )
    progress = _safe_get(keys.progress) or {}
    if progress.get("state") == "failed":
        return ScanStatus(
            "failed", progress.get("fetched", 0), progress.get("total"), progress.get("message", "")
        )
    _start(gateway, job, keys)
    progress = _safe_get(keys.progress) or {}
    return ScanStatus(
        "running", progress.get("fetched", 0), progress.get("total"), progress.get("message", "")
    )


def retry_scan(job: JobDetail, *, gateway: Gateway | None = None) -> ScanStatus:
    """Forget a failed scan of `job` and start again."""
    gateway = gateway or get_gateway()
    keys = _keys_of(gateway, job)
    progress = _safe_get(keys.progress) or {}
    if progress.get("state") == "failed":
        cache.delete(keys.progress)
    return scan_status(job, gateway=gateway)


def empty_failure_set(job_id: str) -> FailureSet:
    """The failures of a job that has none to read: what a search of it looks through."""
    return FailureSet(job_id, array("q"), (), array("I"), (), ())


def failure_set(job: JobDetail, *, gateway: Gateway | None = None) -> FailureSet | None:
    """The failures of the finished scan of `job`, or None while there is none."""
    gateway = gateway or get_gateway()
    keys = _keys_of(gateway, job)
    result = _safe_get(keys.result)
    if not isinstance(result, ScanResult):
        return None
    memo_key = (keys.failures, result.finished_at)
    with _memo_lock:
        if memo_key in _memo:
            _memo.move_to_end(memo_key)
            return _memo[memo_key]
    failures = _safe_get(keys.failures)
    if not isinstance(failures, FailureSet) or len(failures) != result.scanned:
        # The cache let the failures go (or they belong to another scan) while the summary
        # stayed: forget the summary too, so that the next look starts a fresh scan.
        _safe_delete(keys.result)
        return None
    _remember(memo_key, failures)
    return failures


def _remember(memo_key: tuple[str, float], failures: FailureSet) -> None:
    with _memo_lock:
        _memo[memo_key] = failures
        _memo.move_to_end(memo_key)
        while len(_memo) > MEMO_SETS:
            _memo.popitem(last=False)


# Unpickling a 200,000-row set costs tens of milliseconds: keep the last few in memory.
MEMO_SETS = 3
_memo: OrderedDict[tuple[str, float], FailureSet] = OrderedDict()
_memo_lock = threading.Lock()
_running: set[str] = set()
_running_lock = threading.Lock()


def _matches(result: ScanResult, job: JobDetail) -> bool:
    # A terminal job's result is final; one scanned while the job ran is replaced once the
    # job has ended, however fresh it was.
    return not (job.is_terminal and result.provisional)


def _safe_get(key: str):
    try:
        return cache.get(key)
    except Exception:  # a broken cache costs a rescan, never the page
        logger.exception("scan cache read failed")
        return None


def _safe_set(key: str, value: object) -> None:
    try:
        cache.set(key, value, KEEP_SECONDS)
    except Exception:
        logger.exception("scan progress write failed")


def _safe_delete(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.exception("scan cache delete failed")


def _start(gateway: Gateway, job: JobDetail, keys: _Keys) -> bool:
    """Start a scan in a background thread unless one runs somewhere already."""
    with _running_lock:
        if keys.lock in _running:
            return True
        token = uuid.uuid4().hex
        try:
            if not cache.add(keys.lock, token, LOCK_SECONDS):
                return True
        except Exception:
            logger.exception("scan lock failed")
            return False
        _running.add(keys.lock)
    try:
        # An unreadable or odd count announces nothing: the progress shows no share then.
        total = job.failure_count if job.failure_count and job.failure_count > 0 else None
        cache.set(keys.progress, {"state": "running", "fetched": 0, "total": total}, KEEP_SECONDS)
    except Exception:
        logger.exception("scan progress write failed")
    # The scan's log lines carry the id of the request that started it.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(_run, gateway, job, keys, token), daemon=True, name=f"scan-{job.id}"
    )
    thread.start()
    return True


def _run(gateway: Gateway, job: JobDetail, keys: _Keys, token: str) -> None:
    # In the scan thread's own context (and its page threads' copies): its routine calls log at
    # DEBUG, and its "scanned" line sums them up.
    routine_call_level.set(logging.DEBUG)
    # The copied context holds the deadline of the request that started the scan; a scan
    # reads for much longer, on the client's own timeouts and retries.
    deadline.lift()
    try:
        failures, result = run_scan(gateway, job, progress=_progress_writer(keys, token))
        if reads_chunk_rows(job) and _holds_lock(keys, token):
            _safe_set(
                keys.progress,
                {
                    "state": "running",
                    "fetched": result.scanned,
                    "total": result.scanned,
                    "message": READING_CHUNK_ROWS,
                },
            )
        failures, result = with_chunk_rows(gateway, job, failures, result)
        publish(gateway, with_groups(result, failures), failures)
    except MeteroidError as exc:
        logger.warning("scan of %s failed: %s", job.id, exc.message)
        _write_failed(keys, token, exc.message)
    except Exception:
        logger.exception("scan of %s failed", job.id)
        _write_failed(keys, token, "The scan stopped on an unexpected error.")
    finally:
        with _running_lock:
            _running.discard(keys.lock)
        try:
            if cache.get(keys.lock) == token:
                cache.delete(keys.lock)
        except Exception:
            logger.exception("scan unlock failed")


def publish(gateway: Gateway, result: ScanResult, failures: FailureSet) -> None:
    """Store a finished scan where every process finds it, and mark the scan done."""
    keys = _keys(gateway, result.job_id, result.slot)
    cache.set(keys.failures, failures, KEEP_SECONDS)
    cache.set(keys.result, result, KEEP_SECONDS)
    if result.slot != ACTIVE_SLOT:
        # What was read while the job ran is of no use once it has ended; were it kept, a retry
        # that reopens the job would show those old failures as provisional ones.
        active = _keys(gateway, result.job_id, ACTIVE_SLOT)
        _safe_delete(active.result)
        _safe_delete(active.failures)
    # This process serves the set it holds, rather than unpickling a copy of it.
    _remember((keys.failures, result.finished_at), failures)
    cache.set(
        keys.progress, {"state": "done", "fetched": result.scanned, "total": result.scanned}, KEEP_SECONDS
    )


def _holds_lock(keys: _Keys, token: str) -> bool:
    """Whether the scan holding `token` is still the job's scan: one whose lock was lost (it
    expired, another scan took over, the cache was emptied) no longer tells the job's state."""
    return _safe_get(keys.lock) == token


def _write_failed(keys: _Keys, token: str, message: str) -> None:
    if not _holds_lock(keys, token):
        return
    progress = _safe_get(keys.progress) or {}
    try:
        cache.set(keys.progress, {**progress, "state": "failed", "message": message}, FAILED_SECONDS)
    except Exception:
        logger.exception("scan progress write failed")


@dataclass
class _ProgressWriter:
    keys: _Keys
    token: str
    last: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, fetched: int, total: int, *, force: bool = False) -> None:
        now = time.monotonic()
        with self.lock:
            if not force and now - self.last < PROGRESS_EVERY:
                return
            self.last = now
        if not _holds_lock(self.keys, self.token):
            return
        try:
            cache.set(
                self.keys.progress, {"state": "running", "fetched": fetched, "total": total}, KEEP_SECONDS
            )
            cache.set(self.keys.lock, self.token, LOCK_SECONDS)  # still alive
        except Exception:
            logger.exception("scan progress write failed")


def _progress_writer(keys: _Keys, token: str) -> _ProgressWriter:
    return _ProgressWriter(keys, token)


def run_scan(gateway: Gateway, job: JobDetail, *, progress=None) -> tuple[FailureSet, ScanResult]:
    """Page through every failure of `job` (up to the cap) and summarise it. Blocking.

    The first page tells the total; the rest are fetched `SCAN_CONCURRENCY` at a time.
    Raises `MeteroidError` if any page cannot be had after the gateway's own retries, and,
    for a terminal job (whose failures never change), as soon as a page contradicts the
    first: a count that moved, or a page short of rows before the end. A half result is
    never returned as a whole one.
    """
    started = time.time()
    cap = settings.SCAN_MAX_FAILURES
    client = gateway.client
    first = client.list_failure_columns(job.id, limit=PAGE_SIZE, offset=0)
    reported = first.total_count
    total = _total(first.total_count, first.records, job.failure_count)
    wanted = min(total, cap)
    if job.is_terminal and (problem := _inconsistency(first, 0, reported, total, wanted)):
        raise MeteroidError(ErrorKind.UPSTREAM, problem)
    shared: dict[str, str] = {}
    pages: dict[int, _Columns] = {0: _columns(first, shared)}
    # Records that could not be read whole are counted, not fatal: one odd record in
    # 200,000 must not cost the scan.
    odd = {"apart": first.apart, "unreadable": first.unreadable}
    fetched = first.records
    fetched_lock = threading.Lock()
    if progress:
        progress(fetched, wanted, force=True)

    def fetch(offset: int) -> _Columns:
        # In the pool's threads, each page as it comes: checked, so that a bad one stops the
        # scan at once, and cut down to columns (one string per distinct chunk id and reason).
        nonlocal fetched
        page = client.list_failure_columns(job.id, limit=min(PAGE_SIZE, wanted - offset), offset=offset)
        if job.is_terminal and (problem := _inconsistency(page, offset, reported, total, wanted)):
            raise MeteroidError(ErrorKind.UPSTREAM, problem)
        columns = _columns(page, shared)
        with fetched_lock:
            fetched += page.records
            odd["apart"] += page.apart
            odd["unreadable"] += page.unreadable
            so_far = fetched
        if progress:
            progress(so_far, wanted)
        return columns

    offsets = range(PAGE_SIZE, wanted, PAGE_SIZE)
    if offsets:
        with ThreadPoolExecutor(
            max_workers=settings.SCAN_CONCURRENCY, thread_name_prefix="scan-page"
        ) as pool:
            futures = {
                pool.submit(contextvars.copy_context().run, fetch, offset): offset for offset in offsets
            }
            # Back once every page is in, or as soon as one has failed.
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                if (error := future.exception()) is not None:
                    raise error
                pages[futures[future]] = future.result()
    failures = _collect(job.id, (pages[offset] for offset in sorted(pages)), wanted, shifting=job.is_active)
    if job.is_terminal and len(failures) + odd["apart"] < wanted:
        raise MeteroidError(
            ErrorKind.UPSTREAM,
            f"Meteroid listed {len(failures) + odd['apart']:,} failures of the {wanted:,} it announced; "
            "the scan cannot be trusted. Try again.",
        )
    chunks = summarize_chunks(failures.chunk_pairs(), chunk_size=job.chunk_size, total_items=job.total_items)
    finished = time.time()
    fresh_for = KEEP_SECONDS if job.is_terminal else ACTIVE_FRESH_SECONDS
    result = ScanResult(
        job_id=job.id,
        chunks=tuple(chunks),
        scanned=len(failures),
        total_count=total,
        capped=total > cap,
        provisional=not job.is_terminal,
        finished_at=finished,
        fresh_until=finished + fresh_for,
        slot=_slot(job),
        records_apart=odd["apart"],
        records_unreadable=odd["unreadable"],
    )
    logger.info(
        "scanned %s: %d failures, %d chunks, %d pages in %.2fs",
        job.id,
        len(failures),
        len(chunks),
        len(pages),
        finished - started,
    )
    return failures, result


def reads_chunk_rows(job: JobDetail) -> bool:
    """Whether a scan of the job reads rows of whole failed chunks from its errors CSV: once
    it has ended (the errors CSV is written then) with rows that no failure record holds."""
    return job.is_terminal and job.rows_without_detail > 0 and job.has_error_csv


def with_chunk_rows(
    gateway: Gateway, job: JobDetail, failures: FailureSet, result: ScanResult
) -> tuple[FailureSet, ScanResult]:
    """The scan's failures and result with the rows of the job's whole failed chunks added
    (read from its errors CSV), or with why they could not be; unchanged for a job that has
    none, or more failures than a scan reads."""
    if not reads_chunk_rows(job) or result.capped:
        return failures, result
    cap = settings.SCAN_MAX_FAILURES
    if job.failed_items > cap:
        # The cap bounds every failed row a scan holds, the rows of whole chunks included
        # (and the errors CSV would be read whole for them).
        problem = f"the job has more failed rows ({job.failed_items:,}) than the dashboard reads ({cap:,})."
        return failures, replace(result, chunk_rows_problem=problem)
    started = time.time()
    rows, problem = read_chunk_rows(gateway, job, failures.item_indices)
    if rows is None:
        logger.info("rows of whole failed chunks of %s not read: %s", job.id, problem)
        return failures, replace(result, chunk_rows_problem=problem)
    # The rows read are those no failure record holds: nothing to drop, and an ended job's
    # row may have several failure records.
    merged = _collect(
        job.id, iter([_columns_of(failures), _chunk_columns(rows)]), len(failures) + len(rows), shifting=False
    )
    logger.info(
        "read %s's errors CSV: %d rows of %d whole failed chunks in %.2fs",
        job.id,
        len(rows),
        len(rows.chunks),
        time.time() - started,
    )
    chunks = summarize_chunks(merged.chunk_pairs(), chunk_size=job.chunk_size, total_items=job.total_items)
    return merged, replace(
        result,
        chunks=tuple(chunks),
        scanned=len(merged),
        chunk_rows=len(rows),
        failed_chunks=len(rows.chunks),
        unreadable=rows.unreadable,
        chunk_errors=tuple(Counter(chunk.message for chunk in rows.chunks).most_common(CHUNK_ERRORS_KEPT)),
    )


def _columns_of(failures: FailureSet) -> _Columns:
    ids = failures.chunk_ids
    return (
        list(failures.item_indices),
        [ids[ref] for ref in failures.chunk_refs],
        list(failures.identifiers),
        list(failures.reasons),
    )


def read_chunk_rows(gateway: Gateway, job: JobDetail, record_indices) -> tuple[ChunkRows | None, str]:
    """The rows of the job's whole failed chunks, from its errors CSV matched against its
    input file (both streamed through the gateway, read once), or None and why not.

    Raises `MeteroidError` when a file cannot be had for a reason that may pass (Meteroid
    down): the scan fails then and can be tried again, rather than keep a result without
    the rows."""
    if not job.error_csv_url:
        return None, "Meteroid gives no link to its errors CSV."
    if not job.input_file_url:
        return None, "the job has no input file to number the errors CSV's rows by."
    chunk_size = job.chunk_size
    if not chunk_size:
        return None, "the dashboard does not know this job type's chunk size."
    errors = inputs = None
    try:
        errors = gateway.open_file(job.error_csv_url, default_filename="errors.csv")
        inputs = gateway.open_file(job.input_file_url, default_filename="input.csv")
        error_lines = text_lines(errors.iter_chunks())
        input_lines = text_lines(inputs.iter_chunks())
        error_header = next(error_lines, "")
        input_header = next(input_lines, "")
        delimiter = errors_delimiter(error_header)
        if delimiter is None:
            return None, "its errors CSV does not end its header with the _error column."
        found = recover(
            records(_chain(input_header, input_lines), sniff_delimiter(input_header)),
            records(_chain(error_header, error_lines), delimiter),
            record_indices=frozenset(record_indices),
            chunk_size=chunk_size,
            total_items=job.total_items,
            job_type=job.job_type,
        )
    except NotRecovered as exc:
        return None, f"its errors CSV does not line up with the input file: {exc}."
    except csv.Error as exc:
        return None, f"its errors CSV cannot be read as CSV: {exc}."
    except MeteroidError as error:
        if error.kind is ErrorKind.NOT_FOUND:
            return None, "Meteroid no longer has its errors CSV or input file."
        raise
    finally:
        for download in (errors, inputs):
            if download is not None:
                download.close()
    return found, ""


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _chunk_columns(rows: ChunkRows) -> _Columns:
    """The rows of whole failed chunks as a page of failures: their chunk's row range for a
    chunk id, and the chunk's error, marked, for a reason."""
    marked = {reason: WHOLE_CHUNK_REASON + reason for reason in set(rows.reasons)}  # one string each
    return (rows.item_indices, rows.chunk_keys, rows.identifiers, [marked[reason] for reason in rows.reasons])


def with_groups(result: ScanResult, failures: FailureSet) -> ScanResult:
    """The result, naming the largest reason groups of its failures.

    Grouped once per scan, in the scan's thread: every page that shows the groups reads them
    from the result, and this process keeps the whole grouping for the reasons page.
    """
    started = time.perf_counter()
    grouping = analysis_of(failures).grouping
    logger.info(
        "grouped %s: %d reason groups in %.2fs",
        result.job_id,
        len(grouping.groups),
        time.perf_counter() - started,
    )
    return replace(
        result, groups=summarize_groups(grouping, SUMMARY_GROUPS), group_count=len(grouping.groups)
    )


def _total(reported: int, on_first_page: int, job_count: int | None) -> int:
    """How many failures to read. Meteroid's count, unless it is below zero (the spec sets
    no minimum): then a first page that is not full holds them all, or else the job's own
    count of failure records (`job_count`, None when it cannot tell) does; failing both,
    the read cannot tell how far to go, and says so."""
    if reported >= 0:
        return reported
    if on_first_page < PAGE_SIZE:
        return on_first_page
    if job_count is not None and job_count >= 0:
        return job_count
    raise MeteroidError(
        ErrorKind.UPSTREAM,
        f"Meteroid reports {number(reported)} failures in all, below zero, and no count "
        "of the job's failure records: the scan cannot tell how many to read. Try again later.",
    )


def _inconsistency(page: FailureColumns, offset: int, reported: int, total: int, wanted: int) -> str | None:
    """Why a page of a terminal job cannot belong with the first one, or None. `reported`
    is the count the first page gave, `total` the one the scan reads by."""
    if page.total_count != reported:
        return (
            f"Meteroid's count of this job's failures changed during the scan "
            f"(from {number(reported)} to {number(page.total_count)}), so the list cannot be trusted. Try again."
        )
    expected = min(PAGE_SIZE, wanted - offset)
    if page.records < expected:
        return (
            f"Meteroid sent {page.records} of the {expected} failures expected from row "
            f"{offset + 1:,} on, of the {total:,} it announced; the scan stopped there. Try again."
        )
    return None


# One page of failures as columns: item indices, chunk ids, identifiers, reasons.
type _Columns = tuple[list[int], list[str], list[str | None], list[str]]


def _columns(page: FailureColumns, shared: dict[str, str]) -> _Columns:
    """A page's columns. Chunk ids and reasons repeat: `shared` keeps one string for each,
    which keeps a big set small in memory and pickled."""
    return (
        page.item_indices,
        [shared.setdefault(chunk_id, chunk_id) for chunk_id in page.chunk_ids],
        page.identifiers,
        [shared.setdefault(reason, reason) for reason in page.reasons],
    )


def _collect(job_id: str, pages: Iterator[_Columns], wanted: int, *, shifting: bool) -> FailureSet:
    """Join pages into one set of columns. An active job's pages can shift while they are
    read (`shifting`): a row seen before is dropped. An ended job's pages do not, and one
    row may have several failure records: all are kept."""
    indices = array("q")
    refs = array("I")
    identifiers: list[str | None] = []
    reasons: list[str] = []
    chunk_pos: dict[str, int] = {}
    seen: set[int] = set()
    for page_indices, page_chunks, page_identifiers, page_reasons in pages:
        for index, chunk, identifier, reason in zip(
            page_indices, page_chunks, page_identifiers, page_reasons, strict=True
        ):
            if len(indices) >= wanted or (shifting and index in seen):
                continue
            seen.add(index)
            indices.append(index)
            refs.append(chunk_pos.setdefault(chunk, len(chunk_pos)))
            identifiers.append(identifier)
            reasons.append(reason)
    order = sorted(range(len(indices)), key=indices.__getitem__)
    if any(order[i] != i for i in range(len(order))):
        indices = array("q", (indices[i] for i in order))
        refs = array("I", (refs[i] for i in order))
        identifiers = [identifiers[i] for i in order]
        reasons = [reasons[i] for i in order]
    return FailureSet(job_id, indices, tuple(chunk_pos), refs, tuple(identifiers), tuple(reasons))


def stream_failures(
    gateway: Gateway, job: JobDetail, *, chunk_id: str | None = None
) -> tuple[int, Iterator[Failure]]:
    """Every failure of `job` (or of one chunk) straight from Meteroid, in file order, for an
    export that cannot wait for (or go beyond) the scan. Holds a few pages at a time.

    The first page is read at once, so that Meteroid being down is an error before any byte
    is sent; it also tells the total, returned first. The rest come `SCAN_CONCURRENCY` pages
    ahead. Raises `MeteroidError` while iterating if a page cannot be had, or if a terminal
    job gives fewer failures than announced: a cut file must not pass for a whole one.
    """
    client = gateway.client
    first = client.list_failures(job.id, limit=PAGE_SIZE, offset=0, chunk_id=chunk_id)
    # The job's count is of all its failures: it tells nothing of one chunk's.
    total = _total(
        first.total_count, len(first.failures) + first.apart, None if chunk_id else job.failure_count
    )

    def pages() -> Iterator[FailurePage]:
        yield first
        concurrency = settings.SCAN_CONCURRENCY
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="export-page")
        try:
            offsets = iter(range(PAGE_SIZE, total, PAGE_SIZE))
            ahead: deque = deque()
            for offset in islice(offsets, concurrency):
                ahead.append(
                    pool.submit(
                        client.list_failures, job.id, limit=PAGE_SIZE, offset=offset, chunk_id=chunk_id
                    )
                )
            while ahead:
                page = ahead.popleft().result()
                for offset in islice(offsets, 1):
                    ahead.append(
                        pool.submit(
                            client.list_failures, job.id, limit=PAGE_SIZE, offset=offset, chunk_id=chunk_id
                        )
                    )
                yield page
        finally:
            # A download stopped halfway (the browser went away) stops the reading too.
            pool.shutdown(wait=False, cancel_futures=True)

    def failures() -> Iterator[Failure]:
        last: int | None = None
        seen = 0
        for page in pages():
            # Records without a row number have no place in a file's order: counted, not sent.
            seen += page.apart
            for failure in page.failures:
                # An active job's pages can shift while they are read: never repeat a row.
                # (An ended job's do not, and a row may have several failure records.)
                if job.is_active and last is not None and failure.item_index <= last:
                    continue
                last = failure.item_index
                seen += 1
                yield failure
        if job.is_terminal and seen < total:
            raise MeteroidError(
                ErrorKind.UPSTREAM,
                f"Meteroid listed {seen:,} failures of the {total:,} it announced; the export stopped.",
            )

    return total, failures()


def refresh_scan(job: JobDetail, *, gateway: Gateway | None = None) -> ScanStatus:
    """Scan `job` again although a result may be at hand (refresh on demand): the result
    stays on show until the new scan replaces it, and a failed scan is forgotten."""
    gateway = gateway or get_gateway()
    keys = _keys_of(gateway, job)
    progress = _safe_get(keys.progress) or {}
    if progress.get("state") == "failed":
        cache.delete(keys.progress)
    if job.may_have_failures or job.is_active or reads_chunk_rows(job):
        _start(gateway, job, keys)
    return scan_status(job, gateway=gateway)
