"""Where an index's rows come from: Meteroid's failure records, through the gateway, then
the rows of whole failed chunks, read from the job's errors CSV as the scan reads them
(`read_chunk_rows`), once every record is in."""

from __future__ import annotations

import contextvars
import csv
import functools
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from itertools import islice

from django.conf import settings

from dashboard.failures.csv_files import errors_delimiter, records, sniff_delimiter, text_lines
from dashboard.failures.whole_chunks import (
    CHUNK_ERRORS_KEPT,
    IDENTIFIER_COLUMNS,
    WHOLE_CHUNK_REASON,
    ChunkRows,
    NotRecovered,
    input_identifiers,
    reads_chunk_rows,
    recover,
)
from dashboard.index.indexing import Rows, ScanFailed, Scope, request_index
from dashboard.index.models import IndexedJob
from dashboard.index.rows import FailureRow, InputRow, chunk_row, input_row, record_row
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.client import routine_call_level
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.gateway import Gateway, get_gateway
from dashboard.meteroid.records import Failure, JobDetail
from dashboard.meteroid.streaming import stream_failures

# The sandbox listens on a port of its own in each process: its indexes are named apart.
SANDBOX_BASE_URL = "sandbox:"


def scope_of(gateway: Gateway) -> Scope:
    """The scope that indexes read through `gateway` are kept under."""
    base_url = SANDBOX_BASE_URL if gateway.is_sandbox else gateway.base_url.rstrip("/")
    return Scope(base_url, gateway.client.key_fingerprint)


def ask(job: JobDetail, *, gateway: Gateway | None = None, retry: bool = False) -> IndexedJob:
    """What a page calls: the index of `job` in the state it was just read in (made and
    enqueued on the first ask, joined after)."""
    gateway = gateway or get_gateway()
    return request_index(scope_of(gateway), job.id, job_state_key(job), retry=retry)


def meteroid_rows(indexed: IndexedJob) -> Rows:
    """Every failure record of the job (up to SCAN_MAX_FAILURES), in file order, read
    `scan_concurrency` pages at a time, then the rows of its whole failed chunks, then its
    input file's rows (`InputRow`), where they are read. Meteroid failing, or a terminal job
    giving fewer failures than it announced, fails the scan with the gateway's message.

    A scan's hundreds of routine calls log at DEBUG (its summary line says what it did): in
    a context of its own, where the rows are read too, so that whoever asked for them (a
    worker's loop, a test) goes on logging as before."""
    context = contextvars.copy_context()
    context.run(routine_call_level.set, logging.DEBUG)
    found = context.run(_meteroid_rows, indexed)
    found.rows = _read_in(context, found.rows)
    return found


def _read_in(context: contextvars.Context, rows: Iterator) -> Iterator:
    """`rows`, each read in `context`."""
    while True:
        try:
            row = context.run(next, rows)
        except StopIteration:
            return
        yield row


def _meteroid_rows(indexed: IndexedJob) -> Rows:
    gateway = get_gateway()
    if scope_of(gateway) != Scope(indexed.base_url, indexed.key_fingerprint):
        raise ScanFailed("This worker talks to another Meteroid (or with another key) than the one asked.")
    try:
        job = gateway.job(indexed.job_id)
        if job.is_terminal and job_state_key(job) != indexed.state_key:
            # Retried (and perhaps ended again) since it was asked for: its failures are
            # another state's, which the page asks for on its next look.
            raise ScanFailed(
                "The job has changed since this scan was asked for (it was retried); "
                "its new state is scanned when a page asks for it."
            )
        odd: Counter = Counter()
        total, failures = stream_failures(
            gateway, job, odd=odd, concurrency=scan_concurrency(indexed), slots=_slots(indexed)
        )
    except MeteroidError as exc:
        raise ScanFailed(exc.message) from exc
    cap = settings.SCAN_MAX_FAILURES
    found = Rows(total=min(total, cap), rows=iter(()), capped=total > cap, notes=job_notes(job))
    found.rows = _rows(gateway, job, islice(failures, cap), found, odd)
    return found


def scan_concurrency(indexed: IndexedJob) -> int:
    """Pages of failures a scan reads at once: SCAN_CONCURRENCY, or for a scan asked in the
    background (the backfill) no more than its share of the budget (INDEX_BACKFILL_CONCURRENCY)."""
    if indexed.asked_by == IndexedJob.AskedBy.BACKGROUND:
        return min(settings.SCAN_CONCURRENCY, settings.INDEX_BACKFILL_CONCURRENCY)
    return settings.SCAN_CONCURRENCY


@functools.cache
def _background_slots(share: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(share)


def _slots(indexed: IndexedJob) -> threading.BoundedSemaphore | None:
    """The slots that a background scan's pages are read in, which every background scan of
    this process shares (a worker runs several at once): together they never read more than
    INDEX_BACKFILL_CONCURRENCY pages at once. None for a page's scan."""
    if indexed.asked_by == IndexedJob.AskedBy.BACKGROUND:
        return _background_slots(settings.INDEX_BACKFILL_CONCURRENCY)
    return None


def job_notes(job: JobDetail) -> dict[str, object]:
    """What an index keeps of its job as it was read: for pages across jobs."""
    return {
        "active": job.is_active,
        "job_type": job.job_type or "",
        "job_status": job.status or "",
        "file_name": job.input_file_name or "",
        "job_created_at": job.created_at,
    }


def _rows(
    gateway: Gateway, job: JobDetail, failures: Iterator[Failure], found: Rows, odd: Counter
) -> Iterator[FailureRow | InputRow]:
    records: set[int] = set()
    ids: set[str] = set()
    try:
        for failure in failures:
            if failure.id is not None:
                if failure.id in ids:
                    continue  # the same record sent again (a mock of the API does): held once
                ids.add(failure.id)
            records.add(failure.item_index)
            yield record_row(failure)
        found.notes["records_apart"] = odd["apart"]
        found.notes["records_unreadable"] = odd["unreadable"]
        yield from _chunk_rows(gateway, job, records, found)
        yield from _input_rows(gateway, job, found)
    except MeteroidError as exc:
        raise ScanFailed(exc.message) from exc


def _chunk_rows(gateway: Gateway, job: JobDetail, records: set[int], found: Rows) -> Iterator[FailureRow]:
    """The rows of the job's whole failed chunks, or none, with why in the index's notes."""
    if not reads_chunk_rows(job) or found.capped:
        return
    cap = settings.SCAN_MAX_FAILURES
    if job.failed_items > cap:
        found.notes["chunk_rows_problem"] = (
            f"the job has more failed rows ({job.failed_items:,}) than the dashboard reads ({cap:,})."
        )
        return
    rows, problem = read_chunk_rows(gateway, job, records)
    if rows is None:
        found.notes["chunk_rows_problem"] = problem
        return
    found.notes["unreadable_rows"] = rows.unreadable
    found.notes["failed_chunks"] = len(rows.chunks)
    errors = Counter(chunk.message for chunk in rows.chunks).most_common(CHUNK_ERRORS_KEPT)
    found.notes["chunk_errors"] = [[message, chunks] for message, chunks in errors]
    found.notes["total"] = found.total = found.total + len(rows)
    marked = {reason: WHOLE_CHUNK_REASON + reason for reason in set(rows.reasons)}
    for index, identifier, reason, key in zip(
        rows.item_indices, rows.identifiers, rows.reasons, rows.chunk_keys, strict=True
    ):
        yield chunk_row(index, identifier, marked[reason], key)


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


class _TooLarge(Exception):
    """The input file is larger than the dashboard reads of its job type."""


def input_rows_problem(job: JobDetail, found: Rows) -> str:
    """Why the scan does not read the job's input rows, or "" when it does: they tell a row
    imported from one not in the file only when every failure of the job is known."""
    if job.job_type not in IDENTIFIER_COLUMNS:
        return "the dashboard reads the input rows of customer, subscription and event imports only."
    if job.is_active:
        # Its rows may yet fail; and a running job is scanned again at every change.
        return "the job is still running: its input rows are read once it has ended."
    if not job.input_file_url:
        return "Meteroid gives no link to the job's input file."
    if found.capped:
        return "the job has more failures than the dashboard reads: a row without one may yet have failed."
    if found.notes.get("chunk_rows_problem"):
        return "the rows of its whole failed chunks could not be read: a row without a failure may yet have failed."
    return ""


def _input_rows(gateway: Gateway, job: JobDetail, found: Rows) -> Iterator[InputRow]:
    """Each row of the job's input file by its identifier, with `input_rows_read` (or why
    not, `input_rows_problem`) in the index's notes. A file that turns out too large, or
    unreadable, halfway leaves its rows out: `publish` keeps none of them then."""
    found.notes["input_rows_read"] = False
    if problem := input_rows_problem(job, found):
        found.notes["input_rows_problem"] = problem
        return
    limit = settings.INDEX_INPUT_MAX_BYTES if job.job_type == "EVENT_CSV_IMPORT" else None
    try:
        with gateway.open_file(job.input_file_url, default_filename="input.csv") as download:
            if limit is not None and download.length is not None and download.length > limit:
                raise _TooLarge
            lines = text_lines(_at_most(download.iter_chunks(), limit))
            header = next(lines, "")
            for row, identifier in input_identifiers(
                records(_chain(header, lines), sniff_delimiter(header)), job.job_type or ""
            ):
                yield input_row(row, identifier)
    except _TooLarge:
        found.notes["input_rows_problem"] = (
            f"its input file is larger than the dashboard reads of an event import ({limit:,} bytes)."
        )
        return
    except csv.Error as exc:
        found.notes["input_rows_problem"] = f"its input file cannot be read as CSV: {exc}."
        return
    except MeteroidError as error:
        # The job's failures are read whole all the same: "did it import?" then looks at
        # them alone for this job, and says so.
        if error.kind is ErrorKind.NOT_FOUND:
            found.notes["input_rows_problem"] = "Meteroid no longer has its input file."
        else:
            found.notes["input_rows_problem"] = f"its input file could not be read: {error.message}"
        return
    found.notes["input_rows_read"] = True


def _at_most(chunks: Iterator[bytes], limit: int | None) -> Iterator[bytes]:
    """The chunks, raising `_TooLarge` once more than `limit` bytes came (None: no limit)."""
    read = 0
    for chunk in chunks:
        read += len(chunk)
        if limit is not None and read > limit:
            raise _TooLarge
        yield chunk
