"""Rows to fix: the input file's own rows for a selection of failures, each with its reason in
a last `_error` column, as Meteroid's errors CSV has them, to fix and import again.

Meteroid's errors CSV holds every failed row; a reviewer fixes one cause at a time. This file
holds only the rows of one reason group, chunk or search. Meteroid's `item_index` is the
0-based row of the item in the uploaded file (its data rows, after the header), so the rows
are taken from the input file as it streams, read once and only as far as the last row wanted.

The rows are written back byte for byte as the file had them: they are the user's own data,
to be imported again, and a cell such as `-5` or `=SUM(…)` must come back unchanged, with the
file's own quoting, delimiter (`;` in many European exports), line endings and encoding (a
Windows-1252 file stays Windows-1252). Each row's text is taken as it was in the file, and
`_error` added after the file's delimiter; only the `_error` text, which the dashboard adds,
is made safe for spreadsheets, and written in the file's encoding. The first rows that have an
identifier are checked against it (the identifier must be one of the row's cells): a file
whose rows do not line up with Meteroid's numbering is refused rather than sent with the wrong
reasons beside the wrong rows. The view reads the first batch of rows before it answers, so
that such a file gets an error page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import chain

from dashboard.failures.csv_files import (
    ERROR_COLUMN,
    Record,
    is_legacy,
    readable,
    records,
    sniff_delimiter,
    text_lines,
)
from dashboard.failures.exports import safe_cell

CHECKED_ROWS = 3  # identified rows checked against their identifier
BATCH_ROWS = 1000  # rows encoded per chunk of the response
UNDECIDED_ROWS = BATCH_ROWS  # wanted rows held while no row has told the file's encoding


class Misaligned(Exception):
    """The input file's rows do not line up with the failures' row numbers."""


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


def fixed_file(chunks: Iterable[bytes], wanted: Iterable[tuple[int, str, str | None]]) -> Iterator[bytes]:
    """The rows to fix as byte chunks: the input's header with `_error` added, then each
    wanted row as the file had it with its reason, `BATCH_ROWS` rows at a time.

    `chunks` is the input file; `wanted` is (item_index, reason, identifier) per failure, in
    ascending row order. Raises `Misaligned` (as it is read) when the file is empty, cannot
    be read as CSV, one of the first identified rows does not hold its identifier, or the
    file ends before a wanted row; stops reading once past the last wanted row.
    """
    lines = text_lines(chunks)
    first = next(lines, None)
    if first is None:
        raise Misaligned("The input file is empty.")
    delimiter = sniff_delimiter(first)
    found = records(chain([first], lines), delimiter)
    header = _next(found)
    if header is None:
        raise Misaligned("The input file is empty.")
    writer = _ErrorCell(delimiter)
    newline = header.line_ending or "\r\n"
    width = len(header.cells)
    # The reasons are written in the file's own encoding, one for the whole file, told by the
    # first row read (wanted or not) beyond ASCII: Windows-1252 when its bytes are not UTF-8,
    # else UTF-8. Wanted rows wait for that, UNDECIDED_ROWS of them at most (then: UTF-8).
    encoding = _Encoding(header)
    held: list[tuple[Record, str]] = []
    out = [_with_error(header, ERROR_COLUMN, 0, delimiter, newline)]

    def written(record: Record, cell: str) -> str:
        if encoding.legacy:
            cell = cell.encode("cp1252", "replace").decode("utf-8", "surrogateescape")
        return _with_error(record, cell, width - len(record.cells), delimiter, newline)

    for record, reason in _rows(map(encoding.tell, found), wanted):
        held.append((record, writer(safe_cell(reason) or "")))
        if encoding.legacy is None and len(held) < UNDECIDED_ROWS:
            continue
        out.extend(written(record, cell) for record, cell in held)
        held.clear()
        if len(out) >= BATCH_ROWS:
            yield "".join(out).encode("utf-8", "surrogateescape")
            out.clear()
    out.extend(written(record, cell) for record, cell in held)
    yield "".join(out).encode("utf-8", "surrogateescape")


class _Encoding:
    """The input file's encoding as its rows tell it: `legacy` is True (Windows-1252), False
    (UTF-8) or None while every row read is ASCII."""

    def __init__(self, header: Record) -> None:
        self.legacy: bool | None = None
        self.tell(header)

    def tell(self, record: Record) -> Record:
        if self.legacy is None and not record.raw.isascii():
            self.legacy = is_legacy(record.raw)
        return record


def _with_error(record: Record, cell: str, missing: int, delimiter: str, newline: str) -> str:
    # A row with too few fields gets empty ones, so that `_error` stays in its column.
    return f"{record.body}{delimiter * max(0, missing)}{delimiter}{cell}{record.line_ending or newline}"


class _ErrorCell:
    """One cell as the csv module writes it with the file's delimiter (quoted when needed)."""

    def __init__(self, delimiter: str) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, delimiter=delimiter, lineterminator="")

    def __call__(self, value: str) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow([value])
        return self._buffer.getvalue()


def _rows(
    found: Iterator[Record], wanted: Iterable[tuple[int, str, str | None]]
) -> Iterator[tuple[Record, str]]:
    position = -1
    checked = 0
    for index, reason, identifiers in _merged(wanted):
        if index < 0:
            continue  # a row number Meteroid gave that no file has (the job page warns of it)
        record: Record | None = None
        while position < index:
            record = _next(found)
            position += 1
            if record is None:
                raise Misaligned(
                    f"The input file has {position:,} rows, but Meteroid names row {index + 1:,} as failed."
                )
        assert record is not None
        if identifiers and checked < CHECKED_ROWS:
            # Meteroid gives identifiers as it read the file (in UTF-8): compare both ways.
            cells = {cell.strip() for cell in record.cells} | {
                readable(cell).strip() for cell in record.cells
            }
            if not any(identifier.strip() in cells for identifier in identifiers):
                raise Misaligned(
                    f"Row {index + 1:,} of the input file does not hold {identifiers[0]!r}, "
                    "the identifier Meteroid gives for it."
                )
            checked += 1
        yield record, reason


def _next(found: Iterator[Record]) -> Record | None:
    try:
        return next(found, None)
    except csv.Error as exc:  # a cell over the csv module's size limit, say
        raise Misaligned(f"The input file cannot be read as CSV: {exc}.") from None
