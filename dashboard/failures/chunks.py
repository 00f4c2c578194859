"""Chunks of a job, as far as its failures reveal them (the REST API never lists chunks)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dashboard.meteroid.pickling import PickledByFields


@dataclass(frozen=True, slots=True)
class ChunkSummary(PickledByFields):
    """One chunk that has failures: where it sits in the file and how many rows failed."""

    chunk_id: str
    first_index: int  # smallest failing item_index in the chunk
    last_index: int  # largest failing item_index in the chunk
    failures: int
    row_start: int  # 1-based first row the chunk covers (or its first failure, size unknown)
    row_end: int  # 1-based last row the chunk covers (or its last failure)

    @property
    def whole(self) -> bool:
        """Whether the chunk failed as a whole: its rows come from the errors CSV, and it is
        named by its rows (Meteroid gives it no id the dashboard can see)."""
        return is_whole_chunk(self.chunk_id)

    @property
    def rows(self) -> str:
        """Where the chunk is in the file, as a person finds it: "rows 201-250"."""
        return f"rows {self.row_start:,}–{self.row_end:,}"

    @property
    def label(self) -> str:
        label = f"{self.rows} · {self.failures:,} failed"
        return f"{label} · failed as a whole" if self.whole else label

    @property
    def name(self) -> str:
        """How the chunk filter names it: its id, or for a whole failed chunk, that."""
        return "no chunk id" if self.whole else self.chunk_id


def is_whole_chunk(chunk_id: str) -> bool:
    """Whether a chunk id is the row range of a whole failed chunk (`rows-51-100`)."""
    return chunk_id.startswith(WHOLE_CHUNK_PREFIX)


WHOLE_CHUNK_PREFIX = "rows-"


def summarize_chunks(
    failures: Iterable[tuple[str, int]],
    *,
    chunk_size: int | None,
    total_items: int | None,
) -> list[ChunkSummary]:
    """Summarise `(chunk_id, item_index)` pairs into chunks, in file order (pairs with an
    empty chunk id, which Meteroid left unreadable, are in none).

    With the job type's chunk size known, a chunk's row range is the whole slice of the file
    it covers (chunk k is rows `[k*size, (k+1)*size)`, cut at the file's end); without it, the
    range is that of its failing rows.
    """
    seen: dict[str, list[int]] = {}
    for chunk_id, index in failures:
        if not chunk_id:
            continue  # a failure whose chunk id Meteroid left unreadable: in no chunk's list
        entry = seen.get(chunk_id)
        if entry is None:
            seen[chunk_id] = [index, index, 1]
        else:
            if index < entry[0]:
                entry[0] = index
            if index > entry[1]:
                entry[1] = index
            entry[2] += 1
    summaries = [
        chunk_summary(chunk_id, first, last, count, chunk_size=chunk_size, total_items=total_items)
        for chunk_id, (first, last, count) in seen.items()
    ]
    summaries.sort(key=lambda chunk: (chunk.first_index, chunk.chunk_id))
    return summaries


def chunk_summary(
    chunk_id: str, first: int, last: int, count: int, *, chunk_size: int | None, total_items: int | None
) -> ChunkSummary:
    """One chunk, from its first and last failing item_index and its count of failures."""
    start, end = first, last
    if chunk_size:
        start = (first // chunk_size) * chunk_size
        end = max(last, start + chunk_size - 1)
        if total_items:
            end = max(last, min(end, total_items - 1))
    return ChunkSummary(chunk_id, first, last, count, start + 1, end + 1)


def find_chunk(chunks: Iterable[ChunkSummary], chunk_id: str) -> ChunkSummary | None:
    return next((chunk for chunk in chunks if chunk.chunk_id == chunk_id), None)
