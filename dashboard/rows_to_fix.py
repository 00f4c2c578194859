"""Rows to fix: the input file's own rows for a selection of failures, each with its reason in
a last `_error` column, as Meteroid's errors CSV has them, to fix and import again.

Meteroid's errors CSV holds every failed row; a reviewer fixes one cause at a time. This file
holds only the rows of one reason group, chunk or search. Meteroid's `item_index` is the
0-based row of the item in the uploaded file (its data rows, after the header), so the rows
are taken from the input file as it streams, read once and only as far as the last row wanted.

The rows are written back as the file had them: they are the user's own data, to be imported
again, and a cell such as `-5` or `=SUM(…)` must come back unchanged. Only the `_error` text,
which the dashboard adds, is made safe for spreadsheets. The first rows that have an
identifier are checked against it (the identifier must be one of the row's cells): a file whose
rows do not line up with Meteroid's numbering is refused rather than sent with the wrong
reasons beside the wrong rows. The view reads the first batch of rows before it answers, so
that such a file gets an error page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from dashboard.exports import safe_cell

ERROR_COLUMN = "_error"
CHECKED_ROWS = 3  # identified rows checked against their identifier


class Misaligned(Exception):
    """The input file's rows do not line up with the failures' row numbers."""


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._rest = chunk
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


def csv_records(chunks: Iterable[bytes]) -> Iterator[list[str]]:
    """The records of a CSV file arriving as byte chunks. Bytes that are not UTF-8 are kept
    as they are (`surrogateescape`), so that writing a record back gives the same bytes."""
    text = io.TextIOWrapper(
        io.BufferedReader(_Chunks(chunks)), encoding="utf-8", errors="surrogateescape", newline=""
    )
    return csv.reader(text)


def _merged(wanted: Iterable[tuple[int, str, str | None]]) -> Iterator[tuple[int, str, list[str]]]:
    """(item_index, reasons joined, identifiers) per row: a row may have several failures."""
    current: tuple[int, list[str], list[str]] | None = None
    for index, reason, identifier in wanted:
        if current is not None and current[0] == index:
            current[1].append(reason)
            if identifier is not None:
                current[2].append(identifier)
            continue
        if current is not None:
            yield current[0], "; ".join(current[1]), current[2]
        current = (index, [reason], [identifier] if identifier is not None else [])
    if current is not None:
        yield current[0], "; ".join(current[1]), current[2]


def fixed_rows(
    records: Iterator[list[str]], wanted: Iterable[tuple[int, str, str | None]]
) -> tuple[list[str], Iterator[list[str]]]:
    """The header with `_error` added, and each wanted row of the file with its reason.

    `records` is the input file's records, header first (read here); `wanted` is
    (item_index, reason, identifier) per failure, in ascending row order. The rows raise
    `Misaligned` when one of the first identified rows does not hold its identifier, or the
    file ends before a wanted row; they stop reading once past the last wanted row.
    """
    header = _next(records)
    if header is None:
        raise Misaligned("The input file is empty.")
    return [*header, ERROR_COLUMN], _rows(records, wanted, len(header))


def _rows(
    records: Iterator[list[str]], wanted: Iterable[tuple[int, str, str | None]], width: int
) -> Iterator[list[str]]:
    position = -1
    checked = 0
    for index, reason, identifiers in _merged(wanted):
        record: list[str] | None = None
        while position < index:
            record = _next(records)
            position += 1
            if record is None:
                raise Misaligned(
                    f"The input file has {position:,} rows, but Meteroid names row {index + 1:,} as failed."
                )
        assert record is not None
        if identifiers and checked < CHECKED_ROWS:
            cells = {cell.strip() for cell in record}
            if not any(identifier.strip() in cells for identifier in identifiers):
                raise Misaligned(
                    f"Row {index + 1:,} of the input file does not hold {identifiers[0]!r}, "
                    "the identifier Meteroid gives for it."
                )
            checked += 1
        yield [*record, *[""] * (width - len(record)), safe_cell(reason)]


def _next(records: Iterator[list[str]]) -> list[str] | None:
    try:
        return next(records, None)
    except csv.Error as exc:  # a cell over the csv module's size limit, say
        raise Misaligned(f"The input file cannot be read as CSV: {exc}.") from None
