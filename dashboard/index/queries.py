"""What pages ask of a published index, as SQL. Each reads one index (an `IndexedJob` that
`indexing.current_index` returned), so a page never mixes two states of a job."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.fields.json import KT

from dashboard.failures.search import clean_query
from dashboard.index.models import IndexedFailure, IndexedJob

SUMMARY_GROUPS = 100  # reason groups an index's summary names (the job page's summary and filter)


@dataclass(frozen=True, slots=True)
class Filters:
    """A whole-job view's filters: a chunk, a reason group, words to search for (as typed)."""

    chunk_id: str | None = None
    pattern_key: str | None = None
    search: str = ""

    @property
    def needle(self) -> str:
        """The search as compared: stripped and folded (`search.clean_query`)."""
        return clean_query(self.search)


def failures(indexed: IndexedJob, filters: Filters = Filters()) -> QuerySet[IndexedFailure]:
    """The index's failures under `filters`, in file order."""
    found = IndexedFailure.objects.filter(indexed_job=indexed)
    if filters.chunk_id is not None:
        found = found.filter(chunk_id=filters.chunk_id)
    if filters.pattern_key is not None:
        found = found.filter(pattern_key=filters.pattern_key)
    if needle := filters.needle:
        # Contains, on folded text; on PostgreSQL the pg_trgm indexes answer it.
        found = found.filter(Q(identifier_folded__contains=needle) | Q(reason_folded__contains=needle))
    return found.order_by("row", "id")


def exact_matches(indexed: IndexedJob, filters: Filters) -> QuerySet[IndexedFailure]:
    """Of the failures under `filters`, those whose identifier is exactly the search."""
    return failures(indexed, filters).filter(identifier_folded=filters.needle)


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
    first_row: int = 0  # the group's first row in the file


def reason_groups(indexed: IndexedJob, filters: Filters = Filters()) -> list[ReasonGroup]:
    """Reason groups, largest first (then the one whose first row comes first)."""
    rows = (
        failures(indexed, filters)
        .order_by()
        .values("pattern_key")
        .annotate(n=Count("id"), example=Min("reason"), first=Min("row"))
        .order_by("-n", "first", "pattern_key")
    )
    return [ReasonGroup(row["pattern_key"], row["n"], row["example"], row["first"]) for row in rows]


@dataclass(frozen=True, slots=True)
class ExactReason:
    pattern_key: str
    reason: str
    count: int
    first_row: int


def exact_reasons(indexed: IndexedJob, filters: Filters = Filters()) -> list[ExactReason]:
    """Each distinct reason with its group, count and first row (in no particular order)."""
    rows = (
        failures(indexed, filters)
        .order_by()
        .values("pattern_key", "reason")
        .annotate(n=Count("id"), first=Min("row"))
    )
    return [ExactReason(row["pattern_key"], row["reason"], row["n"], row["first"]) for row in rows]


@dataclass(frozen=True, slots=True)
class ChunkRow:
    chunk_id: str
    count: int
    first_row: int
    last_row: int


def chunks(indexed: IndexedJob, filters: Filters = Filters()) -> list[ChunkRow]:
    """Each chunk with failures (under `filters`), in file order."""
    rows = (
        failures(indexed, filters)
        .order_by()
        .values("chunk_id")
        .annotate(n=Count("id"), first=Min("row"), last=Max("row"))
        .order_by("first", "chunk_id")
    )
    return [ChunkRow(row["chunk_id"], row["n"], row["first"], row["last"]) for row in rows]


def at_row(indexed: IndexedJob, row: int) -> list[IndexedFailure]:
    """The failures of one row (a row can have several failure records)."""
    return list(IndexedFailure.objects.filter(indexed_job=indexed, row=row).order_by("id"))


def rows_of(indexed: IndexedJob, filters: Filters) -> Iterator[int]:
    """The row numbers under `filters`, ascending, each once."""
    return (
        failures(indexed, filters)
        .order_by("row")
        .values_list("row", flat=True)
        .distinct()
        .iterator(chunk_size=10000)
    )


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
    chunk id, source, pattern key) tuples, for the exports: a server-side cursor on
    PostgreSQL, so that a quarter of a million rows never sit in memory at once."""
    return (
        failures(indexed, filters)
        .values_list("row", "failure_id", "identifier", "reason", "chunk_id", "source", "pattern_key")
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


def summary_of(indexed: IndexedJob, groups: list[ReasonGroup] | None = None) -> dict:
    """What every page of the job shows, worked out once when the index is published: its
    chunks `[id, first row, last row, failures]` in file order, its `SUMMARY_GROUPS` largest
    reason groups `[key, failures, a reason of it, first row]`, and how many groups it has.
    `groups`: its `reason_groups`, when the caller has them already."""
    if groups is None:
        groups = reason_groups(indexed)
    return {
        "chunks": [[c.chunk_id, c.first_row, c.last_row, c.count] for c in chunks(indexed)],
        "groups": [[g.pattern_key, g.count, g.example, g.first_row] for g in groups[:SUMMARY_GROUPS]],
        "group_count": len(groups),
    }


def group_chunks(indexed: IndexedJob, chunk_id: str | None = None) -> dict[str, list[tuple[str, int]]]:
    """Per reason group (of the job, or of one chunk), the chunks its failures fall in, in
    file order, with counts: one query for every group."""
    rows = (
        failures(indexed, Filters(chunk_id=chunk_id))
        .order_by()
        .values("pattern_key", "chunk_id")
        .annotate(n=Count("id"), first=Min("row"))
        .order_by("pattern_key", "first", "chunk_id")
    )
    found: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        found.setdefault(row["pattern_key"], []).append((row["chunk_id"], row["n"]))
    return found


def group_row_ranges(indexed: IndexedJob, chunk_id: str | None = None) -> dict[str, list[tuple[int, int]]]:
    """Per reason group (of the job, or of one chunk), its rows as ranges of consecutive row
    numbers `(first, last)`, in file order: one query for every group. Rows in a run have
    the same `row - DENSE_RANK()` within their group, which the database groups by, so only
    the ranges come back, not every row."""
    connection = connections[router.db_for_read(IndexedFailure)]
    table = connection.ops.quote_name(IndexedFailure._meta.db_table)
    where, params = "indexed_job_id = %s", [indexed.pk]
    if chunk_id is not None:
        where, params = where + " AND chunk_id = %s", [*params, chunk_id]
    sql = (
        "SELECT pattern_key, MIN(row), MAX(row) FROM ("  # noqa: S608 (our names; values are parameters)
        "SELECT pattern_key, row, row - DENSE_RANK() OVER (PARTITION BY pattern_key ORDER BY row) AS island "
        f"FROM {table} WHERE {where}"
        ") AS numbered GROUP BY pattern_key, island ORDER BY pattern_key, MIN(row)"
    )
    found: dict[str, list[tuple[int, int]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for key, first, last in cursor.fetchall():
            found.setdefault(key, []).append((first, last))
    return found
