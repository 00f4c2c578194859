"""The rows of a job's failures table, worked out in Python so that the template only prints
them: each row's own link, the link to its reason group, and its chunk, written once for a
run of rows from the same chunk (the cell spans them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from dashboard.failures.chunks import WHOLE_CHUNK_PREFIX, is_whole_chunk
from dashboard.failures.reasons import group_key
from dashboard.meteroid.records import Failure, number


@dataclass(frozen=True, slots=True)
class FailureRow:
    number: int
    number_text: str  # "6,501": the row as people read it
    anchor: str  # "row-6501": the id of the table row
    link: str  # this row under the view's filters: "?chunk=…&row=6501#row-6501"; "" for no row of a file
    identifier: str | None
    reason: str  # "" when Meteroid gave none
    similar: str  # "?reason=<key>": every failure like this one; "" when the table shows only those
    similar_words: str  # what the link to the group says: "191 rows failed this way"
    # A whole failed chunk's rows (`rows-51-100`); None (or "" from a scan) when unreadable.
    chunk_id: str | None
    chunk_rows: str  # the chunk as a person finds it in the file: "rows 201-250"; "" if unknown
    chunk_link: str
    chunk_span: int  # rows the chunk cell covers from here; 0 where a cell above covers this row
    is_target: bool
    exact: bool = False  # a search's exact match of the identifier
    identifier_unreadable: bool = False
    notes: tuple[str, ...] = ()  # what looks wrong in Meteroid's record, for a person

    @property
    def whole_chunk(self) -> bool:
        """Whether the row is one of a chunk that failed as a whole (read from the errors CSV)."""
        return is_whole_chunk(self.chunk_id or "")


def failure_rows(
    failures: Sequence[Failure],
    *,
    row_query: str,
    per_page: int,
    reason: str = "",
    target_row: int | None = None,
    exact: int = 0,
    chunk_size: int | None = None,
    total_items: int | None = None,
    group_counts: Mapping[str, int] | None = None,
    in_chunk: bool = False,
) -> list[FailureRow]:
    """The display rows of one page of failures.

    `row_query` is the view's query without page or row (a row decides its page); `per_page`
    carries over into the group and chunk links when it is not the default; `reason` is the
    group the table is filtered to, whose rows need no link to it; the first `exact` rows
    are a search's exact matches of the identifier. `chunk_size` (the job type's) and
    `total_items` give each chunk its rows; `group_counts` the size of each row's reason
    group in the whole job, so that a group of one gets no link to itself (`in_chunk`: the
    table shows one chunk, so the link says its count is the whole job's).
    """
    keep = "" if per_page == 25 else f"&per_page={per_page}"
    spans = _chunk_spans([f.chunk_id for f in failures])
    rows = []
    for at, (failure, span) in enumerate(zip(failures, spans, strict=True)):
        row = failure.row_number
        # A missing reason is grouped as an empty one, as the whole-job scan keeps it.
        key = group_key(failure.reason or "")
        count = group_counts.get(key) if group_counts is not None else None
        rows.append(
            FailureRow(
                number=row,
                number_text=number(row),
                anchor=f"row-{row}",
                # Row links take rows of a file (1 and up): an odd number gets none.
                link=f"?{row_query + '&' if row_query else ''}row={row}#row-{row}" if row >= 1 else "",
                identifier=failure.item_identifier,
                reason=failure.reason or "",
                similar="" if key == reason or count == 1 else f"?reason={key}{keep}",
                similar_words=_similar_words(count, in_chunk),
                chunk_id=failure.chunk_id,
                chunk_rows=chunk_rows(failure.chunk_id, failure.item_index, chunk_size, total_items)
                if failure.chunk_id and failure.item_index >= 0
                else "",
                chunk_link=f"?{urlencode({'chunk': failure.chunk_id})}{keep}" if failure.chunk_id else "",
                chunk_span=span,
                is_target=row == target_row,
                exact=at < exact,
                identifier_unreadable="item_identifier" in failure.unreadable_fields,
                notes=failure.notes,
            )
        )
    return rows


def _similar_words(count: int | None, in_chunk: bool) -> str:
    if count is None:
        return "rows that failed this way"
    return (
        f"{count:,} rows in the whole job failed this way" if in_chunk else f"{count:,} rows failed this way"
    )


def chunk_rows(chunk_id: str, item_index: int, chunk_size: int | None, total_items: int | None) -> str:
    """The rows of the file a chunk covers, as a person reads them: "rows 201-250".

    A whole failed chunk is named by its rows already (`rows-201-250`); another is chunk
    `item_index // chunk_size` of the file, cut at its end. "" when the type's size is unknown.
    """
    if is_whole_chunk(chunk_id):
        first, _, last = chunk_id.removeprefix(WHOLE_CHUNK_PREFIX).partition("-")
        return f"rows {int(first):,}–{int(last):,}"
    if not chunk_size:
        return ""
    start = item_index // chunk_size * chunk_size
    end = start + chunk_size
    if total_items:
        end = max(start + 1, min(end, total_items))
    return f"rows {start + 1:,}–{end:,}"


def _chunk_spans(chunk_ids: Sequence[str]) -> list[int]:
    """For each position, the length of the run of equal chunk ids that starts there, or 0
    inside a run: `[a, a, b, a]` gives `[2, 0, 1, 1]`."""
    spans = [0] * len(chunk_ids)
    start = 0
    for i in range(1, len(chunk_ids) + 1):
        if i == len(chunk_ids) or chunk_ids[i] != chunk_ids[start]:
            spans[start] = i - start
            start = i
    return spans
