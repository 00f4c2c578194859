"""Pure: one failure as a row of the index, its reason's pattern worked out once, here."""

from __future__ import annotations

from typing import NamedTuple

from dashboard.meteroid.records import Failure
from dashboard.reasons import NORMALISER_VERSION, pattern_of

RECORD = "record"
CHUNK = "chunk"


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


COLUMNS = FailureRow._fields


def record_row(failure: Failure) -> FailureRow:
    """A failure record of Meteroid's API. A reason or chunk id that Meteroid left out (or
    that could not be read) is kept empty, as a scan keeps it."""
    reason = failure.reason or ""
    pattern = pattern_of(reason)
    return FailureRow(
        failure.item_index + 1,
        failure.id,
        failure.item_identifier,
        reason,
        pattern.key,
        NORMALISER_VERSION,
        pattern.values,
        failure.chunk_id or "",
        RECORD,
    )


def chunk_row(item_index: int, identifier: str | None, reason: str, chunk_key: str) -> FailureRow:
    """A row of a whole failed chunk (read from the errors CSV): Meteroid gave it no failure
    record, so it has no failure id, and its chunk is named by its rows (`rows-51-100`)."""
    pattern = pattern_of(reason)
    return FailureRow(
        item_index + 1,
        None,
        identifier,
        reason,
        pattern.key,
        NORMALISER_VERSION,
        pattern.values,
        chunk_key,
        CHUNK,
    )
