"""What pages ask of a published index, as SQL. Each reads one index (an `IndexedJob` that
`indexing.current_index` returned), so a page never mixes two states of a job."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.fields.json import KT

from dashboard.index.models import IndexedFailure, IndexedJob


@dataclass(frozen=True, slots=True)
class Filters:
    """A whole-job view's filters: a chunk, a reason group, words to search for."""

    chunk_id: str | None = None
    pattern_key: str | None = None
    search: str = ""


def failures(indexed: IndexedJob, filters: Filters = Filters()) -> QuerySet[IndexedFailure]:
    """The index's failures under `filters`, in file order."""
    found = IndexedFailure.objects.filter(indexed_job=indexed)
    if filters.chunk_id is not None:
        found = found.filter(chunk_id=filters.chunk_id)
    if filters.pattern_key is not None:
        found = found.filter(pattern_key=filters.pattern_key)
    if filters.search:
        # Case-insensitive contains; on PostgreSQL the pg_trgm indexes answer it.
        found = found.filter(Q(identifier__icontains=filters.search) | Q(reason__icontains=filters.search))
    return found.order_by("row", "id")


def page(indexed: IndexedJob, filters: Filters, *, number: int, size: int = 25) -> list[IndexedFailure]:
    """One page (0-based `number`) of the failures under `filters`."""
    start = number * size
    return list(failures(indexed, filters)[start : start + size])


def count(indexed: IndexedJob, filters: Filters = Filters()) -> int:
    return failures(indexed, filters).count()


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    pattern_key: str
    count: int
    example: str  # one reason of the group, to make its pattern from


def reason_groups(indexed: IndexedJob, filters: Filters = Filters()) -> list[ReasonGroup]:
    """Reason groups, largest first (then by key, for a stable order)."""
    rows = (
        failures(indexed, filters)
        .order_by()
        .values("pattern_key")
        .annotate(n=Count("id"), example=Min("reason"))
        .order_by("-n", "pattern_key")
    )
    return [ReasonGroup(row["pattern_key"], row["n"], row["example"]) for row in rows]


@dataclass(frozen=True, slots=True)
class ChunkRow:
    chunk_id: str | None  # None: rows of whole failed chunks
    count: int
    first_row: int
    last_row: int


def chunks(indexed: IndexedJob) -> list[ChunkRow]:
    """Each chunk with failures, in file order."""
    rows = (
        IndexedFailure.objects.filter(indexed_job=indexed)
        .values("chunk_id")
        .annotate(n=Count("id"), first=Min("row"), last=Max("row"))
        .order_by("first")
    )
    return [ChunkRow(row["chunk_id"], row["n"], row["first"], row["last"]) for row in rows]


def at_row(indexed: IndexedJob, row: int) -> list[IndexedFailure]:
    """The failures of one row (a row can have several failure records)."""
    return list(IndexedFailure.objects.filter(indexed_job=indexed, row=row).order_by("id"))


@dataclass(frozen=True, slots=True)
class SlotValue:
    value: str | None
    count: int


def slot_values(indexed: IndexedJob, pattern_key: str, slot: int, *, limit: int = 20) -> list[SlotValue]:
    """A reason group's breakdown by the value one slot of its pattern masked (most frequent
    first): what `Customer '<id:cus>' not found` was about, customer by customer."""
    rows = (
        IndexedFailure.objects.filter(indexed_job=indexed, pattern_key=pattern_key)
        .values(value=KT(f"masked__{slot}"))
        .annotate(n=Count("id"))
        .order_by("-n", "value")[:limit]
    )
    return [SlotValue(row["value"], row["n"]) for row in rows]


def stream(indexed: IndexedJob, filters: Filters = Filters(), *, chunk_size: int = 5000) -> Iterator[tuple]:
    """Every failure under `filters`, in file order, as (row, failure id, identifier, reason,
    chunk id, source) tuples, for the exports: a server-side cursor on PostgreSQL, so that a
    quarter of a million rows never sit in memory at once."""
    return (
        failures(indexed, filters)
        .values_list("row", "failure_id", "identifier", "reason", "chunk_id", "source")
        .iterator(chunk_size=chunk_size)
    )


def page_after(
    indexed: IndexedJob, filters: Filters, *, after: tuple[int, int] | None, size: int = 25
) -> list[IndexedFailure]:
    """The page of 25 after the failure `after` (its row and id), for paging deep into a job:
    an OFFSET of 70,000 reads and drops 70,000 rows, this reads 25."""
    found = failures(indexed, filters)
    if after is not None:
        row, pk = after
        found = found.filter(Q(row__gt=row) | Q(row=row, id__gt=pk))
    return list(found[:size])
