"""The indexes that pages across jobs read: of one Meteroid (`Scope`), published and current
(not replaced by a newer state's), of the jobs created within a window; what became of one
identifier's rows in each ("did it import?"); and what their failures share: each reason
pattern's counts (`causes`), per day (`daily_counts`), and the jobs it made fail (`cause_jobs`),
read from the causes each index counted when it was published (`IndexedCause`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Case, Count, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate

from dashboard.failures.search import clean_query
from dashboard.index.indexing import Scope
from dashboard.index.models import IndexedCause, IndexedFailure, IndexedInputRow, IndexedJob
from dashboard.meteroid.records import JOB_TYPES

IMPORTED = "imported (no failure)"
FAILED = "failed: "  # followed by the reason
WHOLE_CHUNK = "in a chunk that failed as a whole"
NOT_IN_FILE = "not in this file"
FAILURES_ONLY = "looked at failures only"

type Outcomes = list[tuple[int | None, str]]


def current_indexes(
    scope: Scope, *, since: datetime | None = None, job_type: str = ""
) -> QuerySet[IndexedJob]:
    """The current index of each job of `scope` (created at or after `since`, of `job_type`
    when given), newest job first. Dashboards of two Meteroids (or two keys) sharing one
    database never see each other's."""
    found = IndexedJob.objects.filter(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        status=IndexedJob.Status.DONE,
        superseded_at__isnull=True,
    )
    if since is not None:
        found = found.filter(job_created_at__gte=since)
    if job_type:
        found = found.filter(job_type=job_type)
    return found.order_by("-job_created_at", "-pk")


# --- Searching across jobs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobMatches:
    """How one job's index matches a search: its rows matching (`exact` of them with exactly
    the identifier searched), and whether its file's name does."""

    index: IndexedJob
    rows: int
    exact: int
    file_matches: bool


def matching_failures(indexes: QuerySet[IndexedJob], needle: str) -> QuerySet[IndexedFailure]:
    """The failures of `indexes` whose folded identifier or reason contains `needle` (already
    folded, `search.clean_query`)."""
    return IndexedFailure.objects.filter(indexed_job__in=indexes.values("pk")).filter(
        Q(identifier_folded__contains=needle) | Q(reason_folded__contains=needle)
    )


def matches(indexes: QuerySet[IndexedJob], needle: str) -> list[JobMatches]:
    """Each index that matches `needle` (by a row, or by its file's name), in the order of
    `indexes` (newest job first)."""
    counted = {
        entry["indexed_job"]: (entry["rows"], entry["exact"])
        for entry in matching_failures(indexes, needle)
        .values("indexed_job")
        .annotate(rows=Count("pk"), exact=Count("pk", filter=Q(identifier_folded=needle)))
    }
    by_file = set(indexes.filter(file_name__icontains=needle).values_list("pk", flat=True))
    return [
        JobMatches(index, *counted.get(index.pk, (0, 0)), file_matches=index.pk in by_file)
        for index in indexes.filter(pk__in=set(counted) | by_file)
    ]


def first_rows(index: IndexedJob, needle: str, *, limit: int) -> list[IndexedFailure]:
    """The first `limit` rows of `index` matching `needle`: exactly its identifier first, then
    those that contain it, each in file order."""
    exact = Case(When(identifier_folded=needle, then=Value(0)), default=Value(1))
    return list(
        matching_failures(IndexedJob.objects.filter(pk=index.pk), needle)
        .annotate(rank=exact)
        .order_by("rank", "row", "pk")[:limit]
    )


def chunk_owner(scope: Scope, chunk_id: str) -> str | None:
    """The job of `scope` whose current index has failures in chunk `chunk_id`, if any."""
    return (
        IndexedFailure.objects.filter(indexed_job__in=current_indexes(scope).values("pk"), chunk_id=chunk_id)
        .values_list("indexed_job__job_id", flat=True)
        .first()
    )


def latest_unpublished(scope: Scope, job_ids: Iterable[str]) -> dict[str, IndexedJob]:
    """For each of `job_ids` that has one, its newest index not published: being read
    (queued, running) or failed."""
    found = IndexedJob.objects.filter(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        job_id__in=list(job_ids),
        status__in=(IndexedJob.Status.QUEUED, IndexedJob.Status.RUNNING, IndexedJob.Status.FAILED),
    ).order_by("created_at", "pk")
    return {indexed.job_id: indexed for indexed in found}


def import_outcomes(indexes: Iterable[IndexedJob], needle: str) -> dict[IndexedJob, Outcomes]:
    """What became of the rows whose identifier is `needle` (exactly, as search folds it), per
    index, in the order given: [(row, outcome)], rows in file order. A failure of the row
    says "failed: <reason>" (or WHOLE_CHUNK); a row of the input file without one, IMPORTED.
    With no such row: NOT_IN_FILE where the index read the input file's rows, FAILURES_ONLY
    where it did not (a running job's, say: it cannot tell). No needle: nothing."""
    indexes = list(indexes)
    query = clean_query(needle)
    if not query or not indexes:
        return {}
    inputs = _input_rows(indexes, query)
    # A row's failures, whatever identifier Meteroid gave them (a row too short to read has
    # none), and the failures that name the identifier.
    named = Q(indexed_job_id__in=[index.pk for index in indexes], identifier_folded=query)
    for job_pk, rows in inputs.items():
        named |= Q(indexed_job_id=job_pk, row__in=rows)
    failures: dict[int, Outcomes] = defaultdict(list)
    for job_pk, row, source, reason in (
        IndexedFailure.objects.filter(named)
        .order_by("indexed_job_id", "row", "pk")
        .values_list("indexed_job_id", "row", "source", "reason")
    ):
        whole = source == IndexedFailure.Source.CHUNK
        failures[job_pk].append((row, WHOLE_CHUNK if whole else FAILED + reason))
    return {index: _outcomes(index, failures[index.pk], inputs[index.pk]) for index in indexes}


def _input_rows(indexes: list[IndexedJob], query: str) -> dict[int, list[int]]:
    """The rows of each index's input file whose identifier is `query`, of the indexes that
    read theirs."""
    read = [index.pk for index in indexes if index.input_rows_read]
    inputs: dict[int, list[int]] = defaultdict(list)
    for job_pk, row in (
        IndexedInputRow.objects.filter(indexed_job_id__in=read, identifier_folded=query)
        .order_by("indexed_job_id", "row")
        .values_list("indexed_job_id", "row")
    ):
        inputs[job_pk].append(row)
    return inputs


def _outcomes(index: IndexedJob, failures: Outcomes, input_rows: list[int]) -> Outcomes:
    failed = {row for row, _ in failures}
    found = sorted(
        failures + [(row, IMPORTED) for row in input_rows if row not in failed], key=lambda o: o[0]
    )
    if found:
        return found
    return [(None, NOT_IN_FILE if index.input_rows_read else FAILURES_ONLY)]


# --- Causes across jobs ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CauseCount:
    """One reason pattern across jobs: how many failed rows, of how many jobs, from when."""

    key: str
    failed: int
    jobs: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class CauseJob:
    """One job a pattern made rows of fail, with how many."""

    job_id: str
    job_type: str
    job_status: str
    file_name: str
    job_created_at: datetime | None
    failed: int

    @property
    def type_label(self) -> str:
        return JOB_TYPES.get(self.job_type, self.job_type or "Unknown type")


def _causes_of(indexes: QuerySet[IndexedJob]) -> QuerySet[IndexedCause]:
    """The causes of `indexes` (a subquery: the indexes are never loaded): a row per index
    and pattern, counted when the index was published, so that a window of a million
    failures is added up from a few thousand rows."""
    return IndexedCause.objects.filter(indexed_job__in=indexes.order_by().values("pk"))


def causes(indexes: QuerySet[IndexedJob]) -> list[CauseCount]:
    """Each reason pattern of the failures of `indexes`, largest first: one GROUP BY of their
    causes (an index has a pattern's row once: its rows are its jobs)."""
    found = (
        _causes_of(indexes)
        .values("pattern_key")
        .annotate(
            failed=Sum("failed"),
            jobs=Count("pk"),
            first_seen=Min("indexed_job__job_created_at"),
            last_seen=Max("indexed_job__job_created_at"),
        )
        .order_by("-failed", "pattern_key")
    )
    return [
        CauseCount(
            row["pattern_key"],
            row["failed"],
            row["jobs"],
            row["first_seen"],
            row["last_seen"],
        )
        for row in found
    ]


def daily_counts(indexes: QuerySet[IndexedJob], keys: Iterable[str]) -> dict[str, dict[date, int]]:
    """Failed rows of each pattern of `keys` per day the jobs were created on (in the
    current time zone): {key: {day: rows}}, days without any left out.

    Each job's day is worked out once: a day truncated row by row would cost SQLite a Python
    call per row."""
    keys = list(keys)
    counts: dict[str, dict[date, int]] = {key: {} for key in keys}
    if not keys:
        return counts
    per_job = (
        _causes_of(indexes)
        .filter(pattern_key__in=keys)
        .values_list("pattern_key", "indexed_job_id", "failed")
    )
    found = list(per_job)
    days = dict(indexes.order_by().values_list("pk", TruncDate("job_created_at")))
    for key, job_pk, failed in found:
        day = days.get(job_pk)
        if day is not None:
            per_day = counts[key]
            per_day[day] = per_day.get(day, 0) + failed
    return counts


def cause_jobs(indexes: QuerySet[IndexedJob], key: str) -> list[CauseJob]:
    """The jobs of `indexes` with failures of pattern `key`, newest first, each with its count."""
    found = (
        _causes_of(indexes)
        .filter(pattern_key=key)
        .values_list(
            "indexed_job__job_id",
            "indexed_job__job_type",
            "indexed_job__job_status",
            "indexed_job__file_name",
            "indexed_job__job_created_at",
            "failed",
        )
        .order_by("-indexed_job__job_created_at", "-indexed_job_id")
    )
    return [CauseJob(*row) for row in found]


def examples(indexes: QuerySet[IndexedJob], keys: Iterable[str]) -> dict[str, str]:
    """A reason of each pattern of `keys` among the failures of `indexes`, to make its
    template from: the least of their causes' examples, one GROUP BY for every key."""
    keys = list(keys)
    if not keys:
        return {}
    found = (
        _causes_of(indexes)
        .filter(pattern_key__in=keys)
        .values("pattern_key")
        .annotate(example=Min("example"))
        .order_by()
    )
    return {row["pattern_key"]: row["example"] for row in found}
