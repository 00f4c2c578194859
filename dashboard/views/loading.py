"""What the job's views start from: the job, read through the gateway, and its index; and
the problems of asking a job for what it does not have. Each raises a `Problem` rather than
return a page for its caller to tell from a value."""

from __future__ import annotations

from functools import partial

from dashboard.failures.reasons import NORMALISER_VERSION
from dashboard.failures.whole_chunks import RowAccount, account
from dashboard.index.reading import JobFailures
from dashboard.index.status import ScanStatus, scan_status, settled
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import JobDetail
from dashboard.pages.forms import is_job_id
from dashboard.views.problems import Problem
from dashboard.views.responses import bad_query, not_found, upstream_problem


def load_job(job_id: str) -> JobDetail:
    """The job, as Meteroid describes it now (through the cache)."""
    if not is_job_id(job_id):
        raise Problem(
            lambda request: not_found(
                request,
                "That is not a batch job id.",
                ["Batch job ids look like bjob_7n42DGM5Tflk9n8mt7Fhc7."],
            )
        )
    try:
        return get_gateway().job(job_id)
    except MeteroidError as error:
        raise Problem(partial(upstream_problem, error=error)) from error


def scanned(
    detail: JobDetail, *, wait: float = 0.0, scan: ScanStatus | None = None
) -> tuple[ScanStatus, JobFailures | None]:
    """The index of a job (`scan` when it has just been read), and its failures once it is
    published (those of a job with nothing to read, at once: a search or filter answers
    from nothing rather than waiting for ever).

    With `wait`, an index being read is given that many seconds to be published first (a
    download that needs it: most jobs are read in a second or two).
    """
    scan = settled(detail, scan or scan_status(detail), wait)
    if scan.state != "done" or scan.result is None:
        return scan, None
    return scan, JobFailures(scan.index)


def row_account(detail: JobDetail, scan: ScanStatus | None) -> RowAccount:
    """Every failed row of the job, by where it was found (see `whole_chunks.account`)."""
    result = scan.result if scan else None
    failed, records = detail.failed_items, detail.failure_count
    if failed is None or records is None or failed < 0 or records < 0:
        # Counts that could not be read, or below zero, tell of no lost row (the summary
        # says what looks wrong with them).
        failed = records = 0
    return account(
        failed_items=failed,
        failure_count=records,
        is_terminal=detail.is_terminal,
        has_error_csv=detail.has_error_csv,
        scan_state=scan.state if scan else None,
        chunk_rows=result.chunk_rows if result else 0,
        failed_chunks=result.failed_chunks if result else 0,
        unreadable=result.unreadable if result else 0,
        problem=result.chunk_rows_problem if result else "",
        capped=bool(result and result.capped),
    )


def chunk_is_unknown(scan: ScanStatus, chunk_id: str) -> bool:
    """Whether a complete chunk list settles that the job has no failures in the chunk."""
    result = scan.result
    complete = result is not None and not result.provisional and not result.capped
    return bool(chunk_id and complete and result and not result.has_chunk(chunk_id))


def no_such_group(job: JobDetail, key: str) -> Problem:
    return Problem(
        lambda request: not_found(
            request,
            "This job has no such reason group.",
            [
                f"No failure of {job.id} has a reason in group {key}.",
                f"Groups are named by version {NORMALISER_VERSION} of the reason rules; a link made "
                "under other rules names other groups. The reasons page lists the current ones.",
            ],
        )
    )


def no_such_chunk(job: JobDetail, chunk_id: str) -> Problem:
    return Problem(
        lambda request: not_found(
            request,
            "This job has no failures in that chunk.",
            [f"Chunk {chunk_id} is not among the chunks of {job.id} that have failures."],
        )
    )


def bad_form(form) -> Problem:
    """The problem of a query whose fields do not parse: what was wrong with each."""
    return Problem(lambda request: bad_query(request, form.problems(), bad=form.bad_fields()))
