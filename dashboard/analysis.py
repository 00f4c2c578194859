"""What views ask of a scanned job: reason groups, searches, filters, rows, row ranges.

One `Analysis` per failure set (per scan result), built lazily and kept in memory while the
set is: grouping 200,000 failures takes a fraction of a second, so it is done once per scan
result (the scan warms it as soon as it finishes), never per request. Selections (chunk, reason
group and search together) are remembered for the last few queries, so paging through a filtered
table costs nothing.
"""

from __future__ import annotations

import gc
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dashboard.meteroid.records import Failure
from dashboard.ranges import RowRange, condense
from dashboard.reasons import Grouping, ReasonIndex, Template, build_index, group
from dashboard.search import Ranked, SearchIndex, build_search_index, clean_query, rank, search

if TYPE_CHECKING:
    from dashboard.scan import FailureSet

SELECTIONS_KEPT = 32
CHUNK_GROUPINGS_KEPT = 16
ANALYSES_KEPT = 3  # as many as scan.failure_set keeps


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building an index makes hundreds of thousands of small objects, none of them in a
    cycle; meanwhile the cyclic collector would walk the whole heap (a big failure set
    included) again and again, for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Analysis:
    """Reason groups, search and filters over one failure set. Thread-safe."""

    def __init__(self, failures: FailureSet) -> None:
        self.failures = failures
        self._lock = threading.RLock()
        self._reasons: ReasonIndex | None = None
        self._grouping: Grouping | None = None
        self._search: SearchIndex | None = None
        self._chunks: dict[str, array] | None = None
        self._chunk_groupings: OrderedDict[str, Grouping] = OrderedDict()
        self._selections: OrderedDict[tuple[str, str, str], array] = OrderedDict()
        self._ranked: OrderedDict[tuple[str, str, str], Ranked] = OrderedDict()

    def __len__(self) -> int:
        return len(self.failures)

    @property
    def reasons(self) -> ReasonIndex:
        with self._lock:
            if self._reasons is None:
                with _collector_paused():
                    self._reasons = build_index(self.failures.reasons)
            return self._reasons

    @property
    def grouping(self) -> Grouping:
        """The whole job's failures grouped by pattern."""
        with self._lock:
            if self._grouping is None:
                reasons = self.reasons
                with _collector_paused():
                    self._grouping = group(reasons)
            return self._grouping

    def grouping_for(self, chunk_id: str | None) -> Grouping:
        """Groups of the whole job, or of one chunk's failures (shares are of the chunk)."""
        if not chunk_id:
            return self.grouping
        with self._lock:
            found = self._chunk_groupings.get(chunk_id)
            if found is None:
                found = group(self.reasons, self.chunk_positions(chunk_id))
                self._chunk_groupings[chunk_id] = found
                while len(self._chunk_groupings) > CHUNK_GROUPINGS_KEPT:
                    self._chunk_groupings.popitem(last=False)
            else:
                self._chunk_groupings.move_to_end(chunk_id)
            return found

    def template(self, key: str) -> Template | None:
        return self.reasons.template(key)

    def chunk_positions(self, chunk_id: str) -> array:
        """Positions of one chunk's failures (empty for a chunk without failures)."""
        with self._lock:
            if self._chunks is None:
                # One pass over the failures: a pass per chunk would cost chunks × failures
                # (600 chunks of a 250,000-failure job: half a minute).
                failures = self.failures
                by_ref = [array("I") for _ in failures.chunk_ids]
                for position, ref in enumerate(failures.chunk_refs):
                    by_ref[ref].append(position)
                self._chunks = dict(zip(failures.chunk_ids, by_ref, strict=True))
            return self._chunks.get(chunk_id, array("I"))

    def select(self, *, chunk_id: str = "", group_key: str = "", query: str = "") -> array:
        """Positions (ascending) of the failures in the chunk, of the reason group, and
        matching the search; each filter applies only when given."""
        needle = clean_query(query)
        memo_key = (chunk_id, group_key, needle)
        with self._lock:
            found = self._selections.get(memo_key)
            if found is not None:
                self._selections.move_to_end(memo_key)
                return found
        found = self._select(chunk_id, group_key, needle)
        with self._lock:
            self._selections[memo_key] = found
            while len(self._selections) > SELECTIONS_KEPT:
                self._selections.popitem(last=False)
        return found

    def ranked(self, *, chunk_id: str = "", group_key: str = "", query: str = "") -> Ranked:
        """`select`'s matches of a search, exact identifiers first (see `search.rank`)."""
        memo_key = (chunk_id, group_key, clean_query(query))
        with self._lock:
            found = self._ranked.get(memo_key)
            if found is not None:
                self._ranked.move_to_end(memo_key)
                return found
        positions = self.select(chunk_id=chunk_id, group_key=group_key, query=query)
        found = rank(positions, self.failures.identifiers, query)
        with self._lock:
            self._ranked[memo_key] = found
            while len(self._ranked) > SELECTIONS_KEPT:
                self._ranked.popitem(last=False)
        return found

    def _select(self, chunk_id: str, group_key: str, needle: str) -> array:
        reasons = self.reasons
        candidates: Sequence[int] | None = None
        if chunk_id:
            candidates = self.chunk_positions(chunk_id)
        if group_key:
            number = reasons.by_key.get(group_key)
            if number is None:
                return array("I")
            if candidates is None:
                whole = self.grouping.find(group_key)
                candidates = whole.positions if whole is not None else array("I")
            else:
                failure_template = reasons.failure_template
                candidates = array("I", [p for p in candidates if failure_template[p] == number])
        if needle:
            with self._lock:
                if self._search is None:
                    with _collector_paused():
                        self._search = build_search_index(self.failures.identifiers, reasons.exact)
                index = self._search
            matches = search(index, reasons.failure_exact, needle)
            if candidates is None:
                return matches
            wanted = set(matches) if len(matches) < len(candidates) else None
            if wanted is not None:
                return array("I", [p for p in candidates if p in wanted])
            hits = bytearray(len(self.failures))
            for position in matches:
                hits[position] = 1
            return array("I", [p for p in candidates if hits[p]])
        if candidates is None:
            return array("I", range(len(self.failures)))
        return candidates if isinstance(candidates, array) else array("I", candidates)

    # --- Rows -----------------------------------------------------------------------------

    def failure(self, position: int) -> Failure:
        """The failure at `position`, as the table shows Meteroid's (its id is not kept)."""
        failures = self.failures
        return Failure(
            id="",
            chunk_id=failures.chunk_ids[failures.chunk_refs[position]],
            item_index=failures.item_indices[position],
            item_identifier=failures.identifiers[position],
            reason=failures.reasons[position],
        )

    def page(self, positions: Sequence[int], offset: int, limit: int) -> list[Failure]:
        return [self.failure(p) for p in positions[offset : offset + limit]]

    def locate(self, positions: Sequence[int], row_number: int, *, lead: int = 0) -> tuple[int, bool]:
        """Where row `row_number` (1-based) is among `positions`: (its index, True), or
        (the index where it would be, False) when it has no failure there. The first `lead`
        positions (a search's exact matches) come before the rest, out of file order."""
        indices = self.failures.item_indices
        wanted = row_number - 1
        for at in range(lead):
            if indices[positions[at]] == wanted:
                return at, True
        at = bisect_left(positions, wanted, lo=lead, key=indices.__getitem__)
        return at, at < len(positions) and indices[positions[at]] == wanted

    def row_ranges(self, positions: Sequence[int]) -> list[RowRange]:
        indices = self.failures.item_indices
        return condense(indices[p] + 1 for p in positions)

    def chunks_of(self, positions: Sequence[int]) -> list[tuple[str, int]]:
        """The chunks the failures at `positions` fall in, in file order, with counts."""
        counts: dict[int, int] = {}
        refs = self.failures.chunk_refs
        for position in positions:
            ref = refs[position]
            counts[ref] = counts.get(ref, 0) + 1
        ids = self.failures.chunk_ids
        return [(ids[ref], count) for ref, count in counts.items()]


_memo: OrderedDict[int, Analysis] = OrderedDict()
_memo_lock = threading.Lock()


def analysis_of(failures: FailureSet) -> Analysis:
    """The analysis of a failure set, made once per set and kept for the last few sets.

    Sets are told apart by identity: `scan.failure_set` hands out the same object for as
    long as the scan result stands, and the memo holds the set, so its id stays its own.
    """
    key = id(failures)
    with _memo_lock:
        found = _memo.get(key)
        if found is not None and found.failures is failures:
            _memo.move_to_end(key)
            return found
        found = Analysis(failures)
        _memo[key] = found
        while len(_memo) > ANALYSES_KEPT:
            _memo.popitem(last=False)
        return found
