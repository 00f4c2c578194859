"""Pure: one failure as a row of the index, its reason's pattern worked out once, here."""

from __future__ import annotations

from typing import NamedTuple

from dashboard.failures.reasons import NORMALISER_VERSION, pattern_of
from dashboard.failures.search import fold
from dashboard.meteroid.records import Failure

RECORD = "record"
CHUNK = "chunk"
INPUT = "input"


class FailureRow(NamedTuple):
    """A row of the index as the writer takes it: plain values, in the table's column order."""

    row: int  # 1-based
    failure_id: str | None
    identifier: str | None
    reason: str
    pattern_key: str
    normaliser_version: int
    masked: tuple[str, ...]
    chunk_id: str  # Meteroid's, or a whole failed chunk's key (`rows-51-100`)
    source: str  # RECORD or CHUNK
    # What search compares (`search.fold`): the identifier stripped, so that an exact match
    # is an equality, and the reason.
    identifier_folded: str
    reason_folded: str


COLUMNS = FailureRow._fields
MASKED = COLUMNS.index("masked")


def storable(value):
    """`value` as the database can keep it: PostgreSQL's text (and jsonb) has no NUL, which
    becomes ␀ (U+2400), as pages draw it anyway (`failures/text.py`); in lists, tuples and
    dicts too. Everything the index keeps of users' data goes through here, on every
    database alike."""
    if isinstance(value, str):
        return value.replace("\x00", "\u2400") if "\x00" in value else value
    if isinstance(value, (list, tuple)):
        return type(value)(storable(item) for item in value)
    if isinstance(value, dict):
        return {key: storable(item) for key, item in value.items()}
    return value


def _row(row: int, failure_id: str | None, identifier: str | None, reason: str, chunk_id: str, source: str):
    # The pattern is of the text kept, so that it is the one a page makes of it later.
    failure_id, identifier, reason, chunk_id = storable((failure_id, identifier, reason, chunk_id))
    pattern = pattern_of(reason)
    return FailureRow(
        row,
        failure_id,
        identifier,
        reason,
        pattern.key,
        NORMALISER_VERSION,
        pattern.values,
        chunk_id,
        source,
        fold(identifier or "").strip(),
        fold(reason),
    )


def record_row(failure: Failure) -> FailureRow:
    """A failure record of Meteroid's API. A reason or chunk id that Meteroid left out (or
    that could not be read) is kept empty, as a scan keeps it."""
    return _row(
        failure.item_index + 1,
        failure.id,
        failure.item_identifier,
        failure.reason or "",
        failure.chunk_id or "",
        RECORD,
    )


def chunk_row(item_index: int, identifier: str | None, reason: str, chunk_key: str) -> FailureRow:
    """A row of a whole failed chunk (read from the errors CSV): Meteroid gave it no failure
    record, so it has no failure id, and its chunk is named by its rows (`rows-51-100`)."""
    return _row(item_index + 1, None, identifier, reason, chunk_key, CHUNK)


class InputRow(NamedTuple):
    """A row of the job's input file, by its identifier (`IndexedInputRow`)."""

    row: int  # 1-based
    identifier: str | None
    identifier_folded: str

    source = INPUT  # not a column: what tells it from a `FailureRow` in a scan's rows


def input_row(row: int, identifier: str | None) -> InputRow:
    """An input row, its identifier folded as a failure's is."""
    identifier = storable(identifier)
    return InputRow(row, identifier, fold(identifier or "").strip())
