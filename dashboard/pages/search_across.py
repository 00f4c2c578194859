"""What the search across jobs shows: support's "why did this customer's import fail?", asked
with whatever the customer gave (an alias, an event id, a subscription key, a file name).

It answers from the current indexes of the Meteroid the dashboard talks to, in a window of
days, and says plainly which jobs of that window it could not search yet (being read, their
reading failed): Meteroid's job list is the account of what there is. Asking it also asks for
the index of the window's jobs that have none, a few at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from dashboard.failures.reasons import Template, pattern_of
from dashboard.index.across import (
    JobMatches,
    chunk_owner,
    current_indexes,
    first_rows,
    import_outcomes,
    latest_unpublished,
    matches,
)
from dashboard.index.indexing import Scope, request_index
from dashboard.index.models import IndexedJob
from dashboard.index.sources import scope_of
from dashboard.index.status import nothing_to_read
from dashboard.meteroid.cache import job_state_key
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import Gateway
from dashboard.meteroid.records import JOB_TYPES, STATUSES, Job
from dashboard.pages.forms import ANY_TIME, CHUNK_ID_RE, JOB_ID_RE
from dashboard.pages.paging import Paging

JOBS_PER_PAGE = 10  # jobs a page of results shows
ROWS_PER_JOB = 5  # matching rows shown under each job; the rest are on the job's page
ASK_AT_MOST = 20  # jobs without an index whose detail one search reads, to ask for it
LIST_PER_PAGE = 100  # jobs asked of Meteroid per page of its list
LIST_AT_MOST = 2000  # jobs of Meteroid's list one search reads (20 pages)
READING_SHOWN = 5  # jobs being read that the coverage names, with their progress
IMPORT_JOBS_SHOWN = 10  # jobs "did it import?" names; the rest it counts


def now() -> datetime:
    return timezone.now()


def since(days: int) -> datetime | None:
    """The start of a window of `days` days back from now; None for any time (`ANY_TIME`)."""
    if days == ANY_TIME:
        return None
    return now() - timedelta(days=days)


# --- Ids that name one place ----------------------------------------------------------------


def job_or_chunk(q: str, scope: Scope) -> str | None:
    """Where a query that is a job id or a chunk id goes: the job's page (for a chunk, filtered
    by it); None for any other query. A chunk no current index knows is None too: it is
    searched for as text (and found nowhere, which the page says)."""
    text = q.strip()
    if JOB_ID_RE.match(text):
        return reverse("job", args=[text])
    if CHUNK_ID_RE.match(text) and (job_id := chunk_owner(scope, text)):
        return f"{reverse('job', args=[job_id])}?{urlencode({'chunk': text})}"
    return None


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoundRow:
    """A matching row of a job, and the address of that row in its job's page."""

    row: int
    identifier: str | None
    reason: str
    pattern: Template
    exact: bool
    url: str


@dataclass(frozen=True, slots=True)
class FoundJob:
    """A job that matches, with its first matching rows and the address of all of them."""

    match: JobMatches
    rows: list[FoundRow]
    url: str  # the job's page
    all_url: str  # the job's page searched for the query

    @property
    def index(self) -> IndexedJob:
        return self.match.index

    @property
    def type_label(self) -> str:
        job_type = self.index.job_type
        return JOB_TYPES.get(job_type, job_type) if job_type else "Unknown type"

    @property
    def status_label(self) -> str:
        status = self.index.job_status
        return STATUSES.get(status, status)

    @property
    def more(self) -> bool:
        return self.match.rows > len(self.rows)


@dataclass(frozen=True, slots=True)
class Results:
    paging: Paging
    jobs: list[FoundJob]
    total_rows: int  # matching rows in all the jobs
    total_exact: int  # of which with exactly the identifier searched


def results(indexes, q: str, needle: str, page: int) -> Results:
    """The jobs of `indexes` that match `needle`, one page of them, newest first, each with
    its first matching rows (exact identifiers first)."""
    found = matches(indexes, needle)
    paging = Paging(page, JOBS_PER_PAGE, len(found))
    shown = found[paging.offset : paging.offset + JOBS_PER_PAGE] if paging.exists else []
    return Results(
        paging=paging,
        jobs=[_found_job(match, q, needle) for match in shown],
        total_rows=sum(match.rows for match in found),
        total_exact=sum(match.exact for match in found),
    )


def _found_job(match: JobMatches, q: str, needle: str) -> FoundJob:
    job_url = reverse("job", args=[match.index.job_id])
    rows = [
        FoundRow(
            row=failure.row,
            identifier=failure.identifier,
            reason=failure.reason,
            pattern=pattern_of(failure.reason).template,
            exact=failure.identifier_folded == needle,
            url=f"{job_url}?{urlencode({'row': failure.row})}",
        )
        for failure in (first_rows(match.index, needle, limit=ROWS_PER_JOB) if match.rows else [])
    ]
    return FoundJob(match, rows, job_url, f"{job_url}?{urlencode({'q': q.strip()})}")


# --- Did it import? ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportAnswer:
    """What became of the rows of one job whose identifier is exactly the one searched."""

    index: IndexedJob
    rows: list[tuple[int, str, str]]  # (row, outcome in words, the row in its job's page)


@dataclass(frozen=True, slots=True)
class ImportAnswers:
    found: list[ImportAnswer]  # jobs whose file or failures hold the identifier, newest first
    more: int  # such jobs beyond those named
    files_read: int  # jobs whose input file's rows were looked into
    failures_only: int  # jobs looked into only by their failures (the file was not read)

    @property
    def any(self) -> bool:
        return bool(self.found)


def import_answers(indexes, needle: str) -> ImportAnswers:
    """Per job of `indexes`, whether the rows with exactly the identifier `needle` imported:
    "row 13: imported (no failure)", "row 13: failed: <reason>", "in a chunk that failed as a
    whole"; and how many jobs could be looked into by their file, and how many only by their
    failures (which cannot tell an imported row from one that is not there)."""
    outcomes = import_outcomes(indexes, needle)
    found: list[ImportAnswer] = []
    for index, rows in outcomes.items():
        if rows and rows[0][0] is not None:
            job_url = reverse("job", args=[index.job_id])
            found.append(
                ImportAnswer(
                    index, [(row, outcome, f"{job_url}?{urlencode({'row': row})}") for row, outcome in rows]
                )
            )
    read = sum(1 for index in outcomes if index.input_rows_read)
    return ImportAnswers(
        found=found[:IMPORT_JOBS_SHOWN],
        more=max(0, len(found) - IMPORT_JOBS_SHOWN),
        files_read=read,
        failures_only=len(outcomes) - read,
    )


# --- What was searched ----------------------------------------------------------------------------


@dataclass(slots=True)
class Coverage:
    """The jobs of the window and which of them the search could read."""

    days: int
    job_type: str
    searched: int = 0  # jobs whose index was searched
    nothing_failed: int = 0  # jobs of the window without a failed row: nothing to search
    listed: int | None = None  # jobs of the window on Meteroid's list; None: it could not be read
    reading: list[IndexedJob] = field(default_factory=list)  # being read now
    failed: list[IndexedJob] = field(default_factory=list)  # their reading failed
    unread: int = 0  # on the list, not read yet (asked for a few at a time)
    list_problem: str = ""  # why Meteroid's list could not be read
    list_cut: bool = False  # the window holds more jobs than one search lists
    verb: str = "Searched"  # what the page did with the jobs read ("Counted", for causes)

    @property
    def polling(self) -> bool:
        """Whether the coverage should ask again soon: jobs of the window are being read."""
        return bool(self.reading)

    @property
    def reading_shown(self) -> list[IndexedJob]:
        """The jobs being read that the page names (the rest it counts)."""
        return self.reading[:READING_SHOWN]

    @property
    def reading_more(self) -> int:
        return max(0, len(self.reading) - READING_SHOWN)

    @property
    def window_words(self) -> str:
        kind = f" {JOB_TYPES.get(self.job_type, self.job_type)}" if self.job_type else ""
        if self.days == ANY_TIME:
            return f"the{kind} jobs of any time"
        return f"the{kind} jobs of the last {self.days} days"

    @property
    def sentence(self) -> str:
        """ "Searched 58 of the 60 jobs of the last 30 days; 2 are being read."."""
        if self.listed is None:
            return f"{self.verb} {self.searched:,} of {self.window_words} that have been read."
        covered = self.searched + self.nothing_failed
        parts = [
            f"{self.verb} {covered:,} of {self.window_words.replace('the ', f'the {self.listed:,} ', 1)}"
        ]
        if self.reading:
            parts.append(f"{len(self.reading):,} {'is' if len(self.reading) == 1 else 'are'} being read")
        if self.unread:
            parts.append(f"{self.unread:,} not read yet")
        if self.failed:
            parts.append(f"{len(self.failed):,} could not be read")
        return "; ".join(parts) + "."


def window_jobs(gateway: Gateway, start: datetime | None, job_type: str) -> tuple[list[Job], bool]:
    """The jobs on Meteroid's list created at or after `start` (of `job_type`), newest first
    (`Gateway.jobs_since`); and whether the window held more than one search lists.
    Raises MeteroidError."""
    jobs = list(
        islice(gateway.jobs_since(start, job_type=job_type or None, per_page=LIST_PER_PAGE), LIST_AT_MOST + 1)
    )
    return jobs[:LIST_AT_MOST], len(jobs) > LIST_AT_MOST


def coverage(gateway: Gateway, scope: Scope, indexes, *, days: int, job_type: str) -> Coverage:
    """What of the window the search read; asks for the index of up to ASK_AT_MOST of the
    listed jobs that have none (reading their detail, which the state of an index needs)."""
    found = Coverage(days=days, job_type=job_type)
    indexed = set(indexes.values_list("job_id", flat=True))
    found.searched = len(indexed)
    try:
        listed, found.list_cut = window_jobs(gateway, since(days), job_type)
    except MeteroidError as error:
        found.list_problem = error.message
        return found
    found.listed = len(listed)
    others = [job for job in listed if job.id not in indexed]
    found.searched = len(listed) - len(others)
    for job in [job for job in others if _no_failures(job)]:
        found.nothing_failed += 1
        others.remove(job)
    unpublished = latest_unpublished(scope, (job.id for job in others))
    empty = _ask([job for job in others if job.id not in unpublished][:ASK_AT_MOST], gateway)
    found.nothing_failed += len(empty)
    others = [job for job in others if job.id not in empty]
    unpublished = latest_unpublished(scope, (job.id for job in others))
    for job in others:
        state = unpublished.get(job.id)
        if state is None:
            found.unread += 1
        elif state.status == IndexedJob.Status.FAILED:
            found.failed.append(state)
        else:
            found.reading.append(state)
    return found


def _no_failures(job: Job) -> bool:
    """Whether the list says the job ended without a failed row: no index to read."""
    return job.is_terminal and job.failed_items == 0


def _ask(jobs: list[Job], gateway: Gateway) -> set[str]:
    """Ask for the index of each of `jobs`, behind the scans pages wait for; the ids of those
    that turn out to have nothing to read (no failure: no index)."""
    empty: set[str] = set()
    for job in jobs:
        try:
            detail = gateway.job(job.id)
        except MeteroidError:
            continue  # asked again by the next search
        if nothing_to_read(detail):
            empty.add(job.id)
        else:
            # Active or ended: the job has no index yet; a page that opens it moves it ahead.
            request_index(scope_of(gateway), job.id, job_state_key(detail), background=True)
    return empty


def window_indexes(scope: Scope, *, days: int, job_type: str):
    """The current indexes of the window's jobs (of `job_type`), newest job first."""
    return current_indexes(scope, since=since(days), job_type=job_type)
