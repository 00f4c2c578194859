"""A job's failures straight from Meteroid, page after page, in file order: what a scan
writes into the index, and what an export reads when the index cannot answer it."""

from __future__ import annotations

import contextvars
import threading
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from itertools import islice

from django.conf import settings

from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.gateway import Gateway
from dashboard.meteroid.records import Failure, FailurePage, JobDetail, number

PAGE_SIZE = 100  # the most the API gives in one call
READ_AHEAD_PAGES = 32  # pages asked for ahead of the one the reading waits for (about 0.7 MB)


def stream_failures(
    gateway: Gateway,
    job: JobDetail,
    *,
    chunk_id: str | None = None,
    odd: Counter | None = None,
    concurrency: int | None = None,
    slots: threading.Semaphore | None = None,
) -> tuple[int, Iterator[Failure]]:
    """Every failure of `job` (or of one chunk) straight from Meteroid, in file order, for an
    export that cannot wait for (or go beyond) the scan. Holds a few dozen pages at a time.

    The first page is read at once, so that Meteroid being down is an error before any byte
    is sent; it also tells the total, returned first. The rest are read `concurrency` at
    a time (SCAN_CONCURRENCY unless said), up to READ_AHEAD_PAGES ahead of the reading. Raises `MeteroidError` while iterating if a page cannot be had, or if a terminal
    job gives fewer failures than announced: a cut file must not pass for a whole one. A
    terminal job's page that contradicts the first (its count moved, or it is short before
    the end) stops the reading there, without reading on to the end.
    With `slots`, each page is read holding one of them: a share of the budget
    that several readings hold together (the backfill's scans of one process).
    With `odd`, counts there the records left out for want of a row number ("apart") and
    those with a field that could not be read ("unreadable").
    """
    client = gateway.client
    odd = Counter() if odd is None else odd
    with slots or nullcontext():
        first = client.list_failures(job.id, limit=PAGE_SIZE, offset=0, chunk_id=chunk_id)
    # The job's count is of all its failures: it tells nothing of one chunk's.
    total = _total(
        first.total_count, len(first.failures) + first.apart, None if chunk_id else job.failure_count
    )

    def checked(page: FailurePage, offset: int) -> FailurePage:
        if job.is_terminal and (problem := _inconsistency(page, offset, first.total_count, total)):
            raise MeteroidError(ErrorKind.UPSTREAM, problem)
        return page

    checked(first, 0)

    def read(offset: int) -> FailurePage:
        with slots or nullcontext():
            return client.list_failures(job.id, limit=PAGE_SIZE, offset=offset, chunk_id=chunk_id)

    def fetch(pool: ThreadPoolExecutor, offset: int) -> Future:
        """The page at `offset`, read by the pool in the reader's context (its request id, the
        log level of a scan's routine calls): each page in a copy of its own."""
        return pool.submit(contextvars.copy_context().run, read, offset)

    def pages() -> Iterator[FailurePage]:
        yield first
        in_flight = concurrency or settings.SCAN_CONCURRENCY
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="export-page")
        try:
            offsets = iter(range(PAGE_SIZE, total, PAGE_SIZE))
            # More pages are asked for than the pool reads at once: a thread whose page came
            # takes the next at once, so that one slow page does not keep the others' places
            # empty while the reading waits for it, at most READ_AHEAD_PAGES pages held ahead.
            ahead: deque = deque()
            for offset in islice(offsets, max(in_flight, READ_AHEAD_PAGES)):
                ahead.append((offset, fetch(pool, offset)))
            while ahead:
                offset, future = ahead.popleft()
                page = checked(future.result(), offset)
                for following in islice(offsets, 1):
                    ahead.append((following, fetch(pool, following)))
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
            odd["apart"] += page.apart
            for failure in page.failures:
                # An active job's pages can shift while they are read: never repeat a row.
                # (An ended job's do not, and a row may have several failure records.)
                if job.is_active and last is not None and failure.item_index <= last:
                    continue
                last = failure.item_index
                seen += 1
                if failure.unreadable:
                    odd["unreadable"] += 1
                yield failure
        if job.is_terminal and seen < total:
            raise MeteroidError(
                ErrorKind.UPSTREAM,
                f"Meteroid listed {seen:,} failures of the {total:,} it announced; the export stopped.",
            )

    return total, failures()


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


def _inconsistency(page: FailurePage, offset: int, reported: int, total: int) -> str | None:
    """Why a page of a terminal job, read at `offset`, cannot belong with the first one, or
    None. `reported` is the count the first page gave, `total` the one the reading goes by."""
    if page.total_count != reported:
        return (
            f"Meteroid's count of this job's failures changed during the scan (from "
            f"{number(reported)} to {number(page.total_count)}), so the list cannot be trusted. Try again."
        )
    expected = min(PAGE_SIZE, total - offset)
    sent = len(page.failures) + page.apart
    if sent < expected:
        return (
            f"Meteroid sent {sent} of the {expected} failures expected from row {offset + 1:,} on, "
            f"of the {total:,} it announced; the reading stopped there. Try again."
        )
    return None
