"""What the job's pages ask of its failures, answered from a published index in SQL: reason
groups (of the job or of one chunk), selections under filters (a chunk, a group, a search,
exact identifiers first), their pages, where a row falls in them, their row ranges and chunks.

`JobFailures(index)` is made per request; what is costly and never changes for a published
index (its groupings) is kept in each process for the last few indexes.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from heapq import nlargest
from operator import itemgetter

from django.db.models import Count, Q, QuerySet

from dashboard.failures.ranges import RowRange, condense
from dashboard.failures.reasons import EXAMPLES, TOP_VALUES, SlotValues, Template, pattern_of
from dashboard.index import queries
from dashboard.index.models import IndexedFailure, IndexedJob
from dashboard.index.queries import Filters
from dashboard.meteroid.records import Failure

GROUPINGS_KEPT = 8


def as_failure(row: IndexedFailure) -> Failure:
    """A row of the index as the table shows a failure record of Meteroid's."""
    return Failure(
        id=row.failure_id or "",
        chunk_id=row.chunk_id,
        item_index=row.row - 1,
        item_identifier=row.identifier,
        reason=row.reason,
    )


class Selection:
    """The failures under some filters, in the order a table shows them: in file order, or
    for a search, the rows whose identifier is exactly the search first. Counted once."""

    def __init__(self, index: IndexedJob | None, filters: Filters, *, exact_first: bool = False) -> None:
        self.index = index
        self.filters = filters
        self.exact_first = exact_first and bool(filters.needle)

    def _all(self) -> QuerySet[IndexedFailure]:
        if self.index is None:
            return IndexedFailure.objects.none()
        return queries.failures(self.index, self.filters)

    def _exact(self) -> QuerySet[IndexedFailure]:
        return self._all().filter(identifier_folded=self.filters.needle)

    def _rest(self) -> QuerySet[IndexedFailure]:
        return self._all().exclude(identifier_folded=self.filters.needle)

    @cached_property
    def _tally(self) -> tuple[int, int, int]:
        """For a search with exact matches first: the rows it selects, the exact ones, and of
        the rest, those whose identifier holds the search, counted in one pass."""
        needle = self.filters.needle
        found = (
            self._all()
            .order_by()
            .aggregate(
                selected=Count("pk"),
                exact=Count("pk", filter=Q(identifier_folded=needle)),
                in_identifier=Count(
                    "pk", filter=Q(identifier_folded__contains=needle) & ~Q(identifier_folded=needle)
                ),
            )
        )
        return found["selected"], found["exact"], found["in_identifier"]

    @cached_property
    def count(self) -> int:
        if self.exact_first and self.index is not None:
            return self._tally[0]
        return self._all().count()

    @cached_property
    def exact(self) -> int:
        """How many lead: the rows whose identifier is exactly the search."""
        if not self.exact_first or self.index is None:
            return 0
        return self._tally[1]

    def __len__(self) -> int:
        return self.count

    def page(self, offset: int, limit: int) -> list[Failure]:
        if not self.exact_first:
            return [as_failure(row) for row in self._all()[offset : offset + limit]]
        rows: list[IndexedFailure] = []
        if offset < self.exact:
            rows += self._exact()[offset : offset + limit]
        if len(rows) < limit:
            start = max(0, offset - self.exact)
            rows += self._rest()[start : start + limit - len(rows)]
        return [as_failure(row) for row in rows]

    def locate(self, row: int) -> tuple[int, bool]:
        """Where row `row` (1-based) is in the selection: (its place, True), or (the place
        it would have, False) when it has no failure there."""
        if self.exact_first:
            exact = self._exact()
            if exact.filter(row=row).exists():
                return exact.filter(row__lt=row).count(), True
            rest = self._rest()
            return self.exact + rest.filter(row__lt=row).count(), rest.filter(row=row).exists()
        found = self._all()
        return found.filter(row__lt=row).count(), found.filter(row=row).exists()

    def row_ranges(self) -> list[RowRange]:
        if self.index is None:
            return []
        return condense(queries.rows_of(self.index, self.filters))

    def chunks(self) -> list[tuple[str, int]]:
        """The chunks the selection's failures fall in, in file order, with counts."""
        if self.index is None:
            return []
        return [(chunk.chunk_id, chunk.count) for chunk in queries.chunks(self.index, self.filters)]

    def in_identifier(self) -> int:
        """Of the rows after the exact ones, how many hold the search in their identifier."""
        if not self.filters.needle or self.index is None:
            return 0
        if self.exact_first:
            return self._tally[2]
        return self._rest().filter(identifier_folded__contains=self.filters.needle).count()


@dataclass(frozen=True, slots=True)
class Ranked:
    """A search's matches as the table shows them (see `search.match_note`)."""

    positions: Selection  # exact matches, then the rest
    exact: int
    in_identifier: int

    @property
    def contains(self) -> int:
        return len(self.positions) - self.exact


class GroupsInFile:
    """Where the failures of each group of one grouping are in the file: row ranges and
    chunks, each read for every group in one query the first time a group asks (a page of
    groups shows them all), then kept with the grouping: a published index never changes."""

    def __init__(self, index: IndexedJob, chunk_id: str | None) -> None:
        self.index = index
        self.chunk_id = chunk_id
        self._lock = threading.Lock()
        self._ranges: dict[str, array] | None = None  # key: first, last, first, last, …
        self._chunks: dict[str, list[tuple[str, int]]] | None = None

    def row_ranges(self, key: str) -> list[RowRange]:
        with self._lock:
            if self._ranges is None:
                self._ranges = {
                    group: array("q", (n for pair in pairs for n in pair))
                    for group, pairs in queries.group_row_ranges(self.index, self.chunk_id).items()
                }
        flat = self._ranges.get(key, array("q"))
        return [RowRange(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    def chunks(self, key: str) -> list[tuple[str, int]]:
        with self._lock:
            if self._chunks is None:
                self._chunks = queries.group_chunks(self.index, self.chunk_id)
        return self._chunks.get(key, [])


@dataclass(frozen=True, slots=True)
class IndexedGroup:
    """The failures of one pattern within the scope grouped (a job, or one chunk)."""

    template: Template
    count: int
    share: float  # of the scope's failures, 0..1
    exact: tuple[tuple[str, int], ...]  # exact reasons with their counts, most frequent first
    values: tuple[SlotValues, ...]
    positions: Selection  # the group's failures, in file order
    examples: tuple[Failure, ...]  # a few failures, each with another exact reason
    first_row: int
    where: GroupsInFile  # the rows and chunks of every group of the grouping, read together

    def row_ranges(self) -> list[RowRange]:
        """The group's rows, as ranges of consecutive rows, in file order."""
        return self.where.row_ranges(self.key)

    def chunks(self) -> list[tuple[str, int]]:
        """The chunks the group's failures fall in, in file order, with counts."""
        return self.where.chunks(self.key)

    @property
    def key(self) -> str:
        return self.template.key

    @property
    def distinct(self) -> int:
        return len(self.exact)

    @property
    def percent(self) -> float:
        return 100.0 * self.share


@dataclass(frozen=True, slots=True)
class IndexedGrouping:
    """Failures grouped by pattern, largest group first."""

    total: int
    groups: tuple[IndexedGroup, ...]

    def find(self, key: str) -> IndexedGroup | None:
        return next((group for group in self.groups if group.key == key), None)

    @property
    def largest(self) -> int:
        return self.groups[0].count if self.groups else 0


class JobFailures:
    """The failures of one published index (or of none: a job with nothing to read)."""

    def __init__(self, index: IndexedJob | None, *, size: int | None = None) -> None:
        self.index = index
        self._size = size

    def __len__(self) -> int:
        if self._size is None:
            self._size = 0 if self.index is None else self.index.records + self.index.chunk_rows
        return self._size

    def select(self, *, chunk_id: str = "", group_key: str = "", query: str = "") -> Selection:
        return Selection(self.index, Filters(chunk_id or None, group_key or None, query))

    def chunk_positions(self, chunk_id: str) -> Selection:
        return self.select(chunk_id=chunk_id)

    def ranked(self, *, chunk_id: str = "", group_key: str = "", query: str = "") -> Ranked:
        selection = Selection(
            self.index, Filters(chunk_id or None, group_key or None, query), exact_first=True
        )
        return Ranked(selection, selection.exact, selection.in_identifier())

    def template(self, key: str) -> Template | None:
        """The pattern of group `key`, or None when no failure of the job is in it."""
        if self.index is None:
            return None
        for group_key, _count, example, _first in (self.index.summary or {}).get("groups", ()):
            if group_key == key:
                return pattern_of(example).template
        example = (
            IndexedFailure.objects.filter(indexed_job=self.index, pattern_key=key)
            .values_list("reason", flat=True)
            .first()
        )
        return None if example is None else pattern_of(example).template

    def grouping_for(self, chunk_id: str | None) -> IndexedGrouping:
        """Groups of the whole job, or of one chunk's failures (shares are of the chunk)."""
        if self.index is None:
            return IndexedGrouping(0, ())
        # The time of publication too: a key that a rolled back index's number could be given
        # again (SQLite reuses it) never names another index's groups.
        memo_key = (self.index.pk, self.index.finished_at, chunk_id or "")
        with _memo_lock:
            found = _memo.get(memo_key)
            if found is not None:
                _memo.move_to_end(memo_key)
                return found
        found = _grouping(self.index, chunk_id or None)
        with _memo_lock:
            _memo[memo_key] = found
            while len(_memo) > GROUPINGS_KEPT:
                _memo.popitem(last=False)
        return found

    @property
    def grouping(self) -> IndexedGrouping:
        return self.grouping_for(None)


_memo: OrderedDict[tuple, IndexedGrouping] = OrderedDict()
_memo_lock = threading.Lock()


def _grouping(index: IndexedJob, chunk_id: str | None) -> IndexedGrouping:
    """Every group of the scope, with its exact reasons, the most frequent values of each
    masked slot, and the first failure of each of its first few exact reasons."""
    scope = Filters(chunk_id=chunk_id)
    by_key: dict[str, list[queries.ExactReason]] = {}
    for exact in queries.exact_reasons(index, scope):
        by_key.setdefault(exact.pattern_key, []).append(exact)
    total = sum(exact.count for exacts in by_key.values() for exact in exacts)
    examples_wanted: dict[str, list[tuple[int, str]]] = {}
    partial = []
    for key, exacts in by_key.items():
        exacts.sort(key=lambda e: (-e.count, e.first_row))
        template = pattern_of(exacts[0].reason).template
        count = sum(e.count for e in exacts)
        first_met = sorted(exacts, key=lambda e: e.first_row)[:EXAMPLES]
        examples_wanted[key] = [(e.first_row, e.reason) for e in first_met]
        partial.append((key, template, count, exacts, min(e.first_row for e in exacts)))
    examples = _examples(index, scope, examples_wanted)
    where = GroupsInFile(index, chunk_id)
    groups = [
        IndexedGroup(
            template=template,
            count=count,
            share=count / total if total else 0.0,
            exact=tuple((e.reason, e.count) for e in exacts),
            values=_slot_values(template, exacts),
            positions=Selection(index, Filters(chunk_id=chunk_id, pattern_key=key)),
            examples=examples.get(key, ()),
            first_row=first_row,
            where=where,
        )
        for key, template, count, exacts, first_row in partial
    ]
    groups.sort(key=lambda g: (-g.count, g.first_row))
    return IndexedGrouping(total, tuple(groups))


def _examples(
    index: IndexedJob, scope: Filters, wanted: dict[str, list[tuple[int, str]]]
) -> dict[str, tuple[Failure, ...]]:
    """The failures at (row, reason) of each group's first exact reasons, in one query."""
    if not wanted:
        return {}
    found: dict[tuple[str, int, str], IndexedFailure] = {}
    rows = {row for pairs in wanted.values() for row, _ in pairs}
    for failure in queries.failures(index, scope).filter(row__in=sorted(rows)):
        found.setdefault((failure.pattern_key, failure.row, failure.reason), failure)
    return {
        key: tuple(
            as_failure(found[(key, row, reason)])
            for row, reason in sorted(pairs)
            if (key, row, reason) in found
        )
        for key, pairs in wanted.items()
    }


def _slot_values(template: Template, exacts: list[queries.ExactReason]) -> tuple[SlotValues, ...]:
    if not template.slots:
        return ()
    tallies: list[dict[str, int]] = [{} for _ in template.slots]
    for exact in exacts:
        values = pattern_of(exact.reason).values
        for tally, value in zip(tallies, values, strict=False):
            tally[value] = tally.get(value, 0) + exact.count
    return tuple(
        SlotValues(slot, len(tally), tuple(nlargest(TOP_VALUES, tally.items(), key=itemgetter(1))))
        for slot, tally in zip(template.slots, tallies, strict=True)
    )
