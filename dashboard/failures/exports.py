"""CSV exports, streamed and safe to open in a spreadsheet.

Finance ops open these files in Excel, LibreOffice or Google Sheets, and the cells come from
user-uploaded CSV files: a cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage
return, or the full-width forms of those signs, after any leading spaces) would run as a
formula there. Such cells get a leading apostrophe, which spreadsheets read as "this is
text" (OWASP's advice on CSV injection). Files start with a UTF-8 byte order mark, so that
Excel reads accents and emoji as UTF-8 rather than the local code page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

BOM = "\ufeff"
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
BATCH_ROWS = 1000  # rows encoded per chunk of the response

type Cell = str | int | float | None


def safe_cell(value: Cell) -> Cell:
    """`value` as written to the file: text that a spreadsheet would take for a formula gets
    a leading apostrophe; numbers and None pass unchanged (None is written empty)."""
    if not isinstance(value, str) or not value:
        return value
    first = value[0] if value[0] != " " else value.lstrip(" ")[:1]
    return "'" + value if first in FORMULA_STARTS else value


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """A CSV file as UTF-8 byte chunks: the BOM and header first, then `BATCH_ROWS` rows at
    a time, each cell made safe. Never holds more than one batch in memory.

    (A user's own rows are written back byte for byte by `dashboard.failures.rows_to_fix` instead.)"""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe_cell(name) for name in header])
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        pending += 1
        if pending == BATCH_ROWS:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()
