"""Row numbers condensed into ranges, as people write them: `rows 5-12, 40, 97-130`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowRange:
    first: int
    last: int

    @property
    def rows(self) -> int:
        return self.last - self.first + 1

    def __str__(self) -> str:
        return f"{self.first}" if self.first == self.last else f"{self.first}-{self.last}"


def condense(rows: Iterable[int]) -> list[RowRange]:
    """Ascending row numbers (repeats allowed) as ranges of consecutive rows."""
    ranges: list[RowRange] = []
    first = last = None
    for row in rows:
        if last is not None and row <= last + 1:
            if row > last:
                last = row
            continue
        if first is not None and last is not None:
            ranges.append(RowRange(first, last))
        first = last = row
    if first is not None and last is not None:
        ranges.append(RowRange(first, last))
    return ranges


@dataclass(frozen=True, slots=True)
class RangeText:
    """Ranges written out, up to a limit, and what the limit left out."""

    text: str  # "5-12, 40, 97-130" (without the word "rows")
    shown: int  # ranges written
    total: int  # ranges in all
    rows_left: int  # rows in the ranges left out

    @property
    def complete(self) -> bool:
        return self.shown == self.total

    def __str__(self) -> str:
        if self.complete:
            return self.text
        more = f"{self.rows_left:,} more row{'s' if self.rows_left != 1 else ''}"
        return f"{self.text} and {more}"


def describe(ranges: list[RowRange], *, max_chars: int = 200) -> RangeText:
    """The ranges as text of at most about `max_chars` characters: as many ranges as fit,
    then how many rows were left out (a group of 100,000 rows can span 20,000 ranges)."""
    parts: list[str] = []
    length = 0
    for item in ranges:
        piece = str(item)
        if parts and length + len(piece) + 2 > max_chars:
            break
        parts.append(piece)
        length += len(piece) + 2
    left = sum(item.rows for item in ranges[len(parts) :])
    return RangeText(", ".join(parts), len(parts), len(ranges), left)
