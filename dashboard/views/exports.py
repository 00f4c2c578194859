"""A job's failures as CSV, with the job page's filters: every matching failure, streamed;
and the input file's own rows of those failures, to fix and import again."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.failures.chunks import is_whole_chunk
from dashboard.failures.exports import Cell, csv_chunks
from dashboard.failures.reasons import pattern_of
from dashboard.failures.rows_to_fix import Misaligned, fixed_file
from dashboard.failures.search import clean_query, fold
from dashboard.failures.whole_chunks import WHOLE_CHUNK_REASON, reads_chunk_rows
from dashboard.index import queries
from dashboard.index.reading import JobFailures
from dashboard.index.status import ScanStatus
from dashboard.meteroid import deadline
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import JobDetail
from dashboard.meteroid.streaming import stream_failures
from dashboard.pages.forms import ExportQuery
from dashboard.views.downloads import safe_filename
from dashboard.views.loading import (
    bad_form,
    chunk_is_unknown,
    load_job,
    no_such_chunk,
    no_such_group,
    row_account,
    scanned,
)
from dashboard.views.reasons import CSV_WAIT_SECONDS
from dashboard.views.responses import not_found, problem, streamed_download, upstream_problem

FAILURES_HEADER = ("row", "identifier", "reason", "pattern", "chunk_id", "job_id")


def export_filename(
    job_id: str, *, kind: str = "failures", chunk: str = "", reason: str = "", q: str = ""
) -> str:
    """`bjob_…-failures[-chunk-bjch_…][-reason-3f9a2c0b17de][-search-acme-gmbh].csv` (or
    `-rows-to-fix…`)."""
    name = f"{job_id}-{kind}"
    if chunk:
        name += f"-chunk-{chunk}"
    if reason:
        name += f"-reason-{reason}"
    if q:
        name += "-search-" + (safe_filename(q, "text")[:40].strip("._-") or "text")
    return safe_filename(name, f"{job_id}-{kind}") + ".csv"


@require_GET
# A download reads much more than a page, on the client's own timeouts and retries.
@deadline.lifted()
def failures_csv(request: HttpRequest, job_id: str) -> HttpResponse:
    detail, chunk, reason, q = _export_scope(request, job_id)
    # Rows of whole failed chunks are only in the scan: give it the time a download may take.
    scan, analysis = scanned(detail, wait=CSV_WAIT_SECONDS if reads_chunk_rows(detail) else 0.0)
    if chunk_is_unknown(scan, chunk):
        raise no_such_chunk(detail, chunk)
    if is_whole_chunk(chunk) and (analysis is None or not _covers_all(scan)):
        return _not_read_whole(request, scan, "The rows of a chunk that failed as a whole")
    if analysis is not None and _covers_all(scan):
        if reason and analysis.template(reason) is None:
            raise no_such_group(detail, reason)
        rows = _rows_from_scan(detail, analysis, chunk, reason, q)
    else:
        # The scan is not there yet, or holds only the first failures of a very big job:
        # read Meteroid page by page instead, filtering as the rows go by.
        try:
            _, failures = stream_failures(get_gateway(), detail, chunk_id=chunk or None)
        except MeteroidError as error:
            return upstream_problem(request, error)
        rows = _rows_from_meteroid(detail, failures, reason, q)
    chunks = csv_chunks(FAILURES_HEADER, rows)
    try:
        # The first batch of rows is made before answering: a Meteroid that fails within it
        # (a page that does not come, a job that lists fewer failures than it announced)
        # still gets a page that says so, not a 500.
        first = next(chunks)
    except MeteroidError as error:
        return upstream_problem(request, error)
    return streamed_download(
        chain([first], chunks),
        what=f"failures CSV of {detail.id}",
        filename=export_filename(detail.id, chunk=chunk, reason=reason, q=q),
    )


@require_GET
# A download reads much more than a page, on the client's own timeouts and retries.
@deadline.lifted()
def rows_to_fix_csv(request: HttpRequest, job_id: str) -> HttpResponse:
    """The input file's rows of the matching failures, each with its reason in `_error`."""
    detail, chunk, reason, q = _export_scope(request, job_id)
    if (refusal := _no_rows_to_fix(request, detail)) is not None:
        return refusal
    scan, analysis = scanned(detail, wait=CSV_WAIT_SECONDS)
    if chunk_is_unknown(scan, chunk):
        raise no_such_chunk(detail, chunk)
    if scan.state == "done" and scan.result is not None and not scan.result.scanned:
        # Rows of whole failed chunks were all there was, and they could not be read.
        why = row_account(detail, scan).why
        return not_found(
            request, "The dashboard found no failed row of this job to give.", [why] if why else []
        )
    if analysis is None or not _covers_all(scan):
        return _not_read_whole(request, scan, "The rows to fix")
    if reason and analysis.template(reason) is None:
        raise no_such_group(detail, reason)
    # A row of a whole failed chunk gets its chunk's error in `_error`, as Meteroid writes it.
    wanted = (
        (row - 1, failure_reason.removeprefix(WHOLE_CHUNK_REASON), identifier)
        for row, _id, identifier, failure_reason, *_ in _stream(analysis, chunk, reason, q)
    )
    filename = export_filename(detail.id, kind="rows-to-fix", chunk=chunk, reason=reason, q=q)
    try:
        download = get_gateway().open_file(detail.input_file_url, default_filename=filename)
    except MeteroidError as error:
        if error.kind is ErrorKind.NOT_FOUND:  # the file, not the job
            return not_found(request, error.message)
        return upstream_problem(request, error)
    try:
        chunks = fixed_file(download.iter_chunks(), wanted)
        # The first batch is read before answering: a file that does not line up, or a
        # Meteroid that fails at once, still gets a page that says so.
        first = next(chunks)
    except Misaligned as exc:
        download.close()
        return problem(
            request,
            status=502,
            title="The input file's rows do not line up with Meteroid's failures.",
            details=[str(exc), "Meteroid's errors CSV has every failed row with its reason."],
        )
    except MeteroidError as error:
        download.close()
        return upstream_problem(request, error)
    # The rows stop once past the last one wanted, with the file's rest unread.
    return streamed_download(
        chain([first], chunks),
        what=f"rows to fix of {detail.id}",
        filename=filename,
        content_type=f"text/csv; charset={_charset(first)}",
        close=download.close,
    )


def _export_scope(request: HttpRequest, job_id: str) -> tuple[JobDetail, str, str, str]:
    """What both exports start with: the job, and the filters (chunk, reason group, search)."""
    detail = load_job(job_id)
    form = ExportQuery(request.GET)
    if not form.is_valid():
        raise bad_form(form)
    return detail, form.cleaned_data["chunk"], form.cleaned_data["reason"], form.cleaned_data["q"]


def _charset(first: bytes) -> str:
    """The rows to fix are in the input file's encoding: UTF-8, or else Windows-1252, as
    Meteroid reads a file that is not UTF-8 (told from the first rows)."""
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(first) - 3:  # not merely a character cut at the batch's end
            return "windows-1252"
    return "utf-8"


def _no_rows_to_fix(request: HttpRequest, detail: JobDetail) -> HttpResponse | None:
    """Why the job itself has no rows to fix to give, as a page; None when it may have some."""
    if not detail.input_file_url:
        return not_found(request, "This job has no input file to take the rows from.")
    if detail.failure_count == 0 and not reads_chunk_rows(detail):
        lost = (
            [
                f"Its {detail.failed_items:,} failed rows were lost with chunks that failed as a whole; "
                "Meteroid's errors CSV or the input file can tell which rows they are."
            ]
            # An unreadable or odd count tells nothing about lost rows.
            if detail.failed_items is not None and detail.failed_items > 0
            else []
        )
        return not_found(
            request, "Meteroid recorded no failed row of this job: there are no rows to fix.", lost
        )
    if detail.is_active:
        return problem(
            request,
            status=409,
            title="The rows to fix are ready when the job has ended.",
            details=["It is still running: more of its rows may fail."],
        )
    return None


def _not_read_whole(request: HttpRequest, scan: ScanStatus, what: str) -> HttpResponse:
    """The page for a job whose failures the dashboard has not (or cannot have) all read:
    `what` names the download that needs them."""
    if scan.result is not None and scan.result.capped:
        return problem(
            request,
            status=409,
            title="This job has more failures than the dashboard reads.",
            details=[
                f"It reads the first {scan.result.scanned:,} of {scan.result.total_count:,}; "
                "Meteroid's errors CSV has every failed row."
            ],
        )
    return problem(
        request,
        status=409,
        title=f"{what} are ready once the dashboard has read the job's failures.",
        details=["The job's page shows the reading's progress."],
        retry=True,
    )


def _covers_all(scan: ScanStatus) -> bool:
    return scan.result is not None and not scan.result.capped


def _stream(analysis: JobFailures, chunk: str, reason: str, q: str) -> Iterator[tuple]:
    """The index's failures under the filters, in file order (see `queries.stream`)."""
    if analysis.index is None:
        return iter(())
    return queries.stream(analysis.index, queries.Filters(chunk or None, reason or None, q))


def _rows_from_scan(
    detail: JobDetail, analysis: JobFailures, chunk: str, reason: str, q: str
) -> Iterator[tuple[Cell, ...]]:
    patterns: dict[str, str] = {}  # pattern key: its text, made once per group
    job_id = detail.id
    for row, _id, identifier, failure_reason, chunk_id, _source, key in _stream(analysis, chunk, reason, q):
        text = patterns.get(key)
        if text is None:
            text = patterns[key] = pattern_of(failure_reason).text
        yield (
            row,
            identifier,
            failure_reason,
            text,
            # A row of a chunk that failed as a whole has no chunk id: Meteroid gives none.
            "" if is_whole_chunk(chunk_id) else chunk_id,
            job_id,
        )


def _rows_from_meteroid(detail: JobDetail, failures, reason: str, q: str) -> Iterator[tuple[Cell, ...]]:
    needle = clean_query(q)
    for failure in failures:
        text = failure.reason or ""  # a failure without a reason is kept, as the table shows it
        pattern = pattern_of(text)
        if reason and pattern.key != reason:
            continue
        if needle and needle not in fold(text) and needle not in fold(failure.item_identifier or ""):
            continue
        yield (
            failure.row_number,
            failure.item_identifier,
            failure.reason,
            pattern.text,
            failure.chunk_id,
            detail.id,
        )
