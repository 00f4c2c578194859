"""Search of a job's failures: a case-insensitive substring of the identifier or the reason.

The text is folded as `fold` does, on both sides: the index keeps it folded, and the
search is cleaned by `clean_query` (see `index.queries`). `match_note` says what it matched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.index.reading import Ranked

MAX_QUERY_CHARS = 200
_SEPARATOR = "\x00"  # never part of a query (no text stored in the database holds it)


def fold(text: str) -> str:
    """Text as search compares it: case-folded (so `STRASSE` finds `Straße`)."""
    return text.casefold()


def clean_query(query: str) -> str:
    """A query as searched: stripped, without the separator, folded; "" means no search."""
    return fold(query.replace(_SEPARATOR, "").strip())


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
