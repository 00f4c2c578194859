"""The indexes that pages across jobs read: of one Meteroid (`Scope`), published and current
(not replaced by a newer state's), of the jobs created within a window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, Count, Q, QuerySet, Value, When

from dashboard.index.indexing import Scope
from dashboard.index.models import IndexedFailure, IndexedJob


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
