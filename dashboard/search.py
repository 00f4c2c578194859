"""Search of a job's failures: a case-insensitive substring of the identifier or the reason.

Pure functions over columns. Reasons repeat, so they are folded and searched once per
distinct reason; identifiers are mostly distinct, so they are folded once into a few long
strings that `str.find` scans in C.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, compress

MAX_QUERY_CHARS = 200
_BLOCK = 4096  # identifiers per joined string: one wide character widens only its block
_SEPARATOR = "\x00"  # ends each identifier in a block; never part of a query


def fold(text: str) -> str:
    """Text as search compares it: case-folded (so `STRASSE` finds `Straße`)."""
    return text.casefold()


def clean_query(query: str) -> str:
    """A query as searched: stripped, without the separator, folded; "" means no search."""
    return fold(query.replace(_SEPARATOR, "").strip())


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """Folded text to search: per distinct reason, and identifiers in blocks."""

    reasons: tuple[str, ...]  # folded, by exact reason number
    blocks: tuple[str, ...]  # folded identifiers, each followed by the separator
    starts: tuple[array, ...]  # per block, where each identifier starts in it
    size: int  # failures


def build_search_index(identifiers: Sequence[str | None], exact_reasons: Sequence[str]) -> SearchIndex:
    """Fold what search looks at once, so that each search is a scan of folded text."""
    blocks: list[str] = []
    starts: list[array] = []
    for begin in range(0, len(identifiers), _BLOCK):
        pieces = [fold(value or "") + _SEPARATOR for value in identifiers[begin : begin + _BLOCK]]
        offsets = array("q", [0])
        offsets.extend(accumulate(len(piece) for piece in pieces))
        offsets.pop()
        blocks.append("".join(pieces))
        starts.append(offsets)
    return SearchIndex(
        tuple(fold(reason) for reason in exact_reasons), tuple(blocks), tuple(starts), len(identifiers)
    )


def search(index: SearchIndex, failure_exact: Sequence[int], query: str) -> array:
    """Positions (ascending) of the failures whose identifier or reason holds `query`,
    ignoring case. `failure_exact` gives each failure's exact reason number."""
    needle = clean_query(query)
    if not needle:
        return array("I", range(index.size))
    exact_hits = bytearray(len(index.reasons))
    for number, reason in enumerate(index.reasons):
        if needle in reason:
            exact_hits[number] = 1
    hits = bytearray(map(exact_hits.__getitem__, failure_exact))
    for block_number, (block, offsets) in enumerate(zip(index.blocks, index.starts, strict=True)):
        base = block_number * _BLOCK
        at = block.find(needle)
        while at >= 0:
            row = bisect_right(offsets, at) - 1
            hits[base + row] = 1
            # Go on from the next identifier: one hit per failure is enough.
            following = row + 1
            if following >= len(offsets):
                break
            at = block.find(needle, offsets[following])
    return array("I", compress(range(index.size), hits))


@dataclass(frozen=True, slots=True)
class Ranked:
    """A search's matches as the table shows them: the rows whose identifier is exactly the
    query first (what a person searching an alias or event id is after), then the rows that
    merely contain it, each part in file order."""

    positions: array  # exact matches, then the rest
    exact: int  # how many lead
    in_identifier: int  # of the rest, how many hold the query in their identifier (others: reason)

    @property
    def contains(self) -> int:
        return len(self.positions) - self.exact


def rank(positions: Sequence[int], identifiers: Sequence[str | None], query: str) -> Ranked:
    """Order the matches of `query` at `positions` (ascending) exact identifiers first."""
    needle = clean_query(query)
    exact, rest = array("I"), array("I")
    in_identifier = 0
    for position in positions:
        identifier = fold(identifiers[position] or "")
        if identifier.strip() == needle:
            exact.append(position)
        else:
            rest.append(position)
            in_identifier += needle in identifier
    exact.extend(rest)
    return Ranked(exact, len(exact) - len(rest), in_identifier)


def match_note(ranked: Ranked) -> str:
    """What a search matched, in words: whether a row has exactly this identifier, and how
    many contain it (in their identifier, or only in their reason)."""

    def rows(n: int) -> str:
        return f"{n:,} row{'s' if n != 1 else ''}"

    reason_only = ranked.contains - ranked.in_identifier
    parts = []
    if ranked.in_identifier:
        parts.append(f"{ranked.in_identifier:,} contain{'s' if ranked.in_identifier == 1 else ''} it")
    if reason_only:
        parts.append(f"{rows(reason_only)} {'has' if reason_only == 1 else 'have'} it in the reason")
    rest = " and ".join(parts)
    if not ranked.exact:
        return f"No row has exactly this identifier; {rest}." if rest else ""
    lead = f"{rows(ranked.exact)} {'has' if ranked.exact == 1 else 'have'} exactly this identifier"
    if not rest:
        return f"{lead}."
    return f"{lead} (first, marked “exact match”); then {rest.replace(' contain', ' more contain', 1)}."
