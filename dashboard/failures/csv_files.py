"""Users' CSV files as Meteroid reads and writes them: any delimiter, any encoding, and each
record's own bytes kept.

Meteroid reads an input file with the delimiter the job was given (`;` is common in European
exports) after normalising its text to UTF-8: UTF-8 stays, a UTF-8 byte order mark is dropped,
anything else is read as Windows-1252 (Latin-1 with a few more letters). Its errors CSV uses
the input's delimiter and is UTF-8. The REST API tells neither the delimiter nor the encoding,
so both are read off the file: the delimiter from its header, the encoding from its bytes.

Records are read from a stream of byte chunks, one at a time, with the exact text they had in
the file (line ending included, bytes that are not UTF-8 kept as `surrogateescape`), so that
a row written back is the same bytes as in the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

DELIMITERS = (",", ";", "\t", "|")
ERROR_COLUMN = "_error"
# Bytes that are not UTF-8, as `surrogateescape` keeps them in text.
_ESCAPED = re.compile("[\udc80-\udcff]+")


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


def text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """The lines of a file arriving as byte chunks, each with its own line ending, as
    UTF-8 text with any other byte kept (`surrogateescape`): encoded back the same way, a
    line is the same bytes again."""
    text = io.TextIOWrapper(
        io.BufferedReader(_Chunks(chunks)), encoding="utf-8", errors="surrogateescape", newline=""
    )
    return iter(text)


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: its cells, and its text exactly as in the file (line ending included)."""

    cells: list[str]
    raw: str

    @property
    def body(self) -> str:
        """The record's text without its line ending."""
        return self.raw.rstrip("\r\n")

    @property
    def line_ending(self) -> str:
        return self.raw[len(self.body) :]


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a file, from its header line: the candidate it holds most of outside
    quotes (a header names its columns, so it holds the delimiter between each two); a comma
    when it holds none (a file of one column)."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    counts = {delimiter: outside.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def errors_delimiter(header_line: str) -> str | None:
    """The delimiter of an errors CSV, from its header: the one that makes `_error` (which
    Meteroid adds) its last column of several; None when no delimiter does."""
    for delimiter in DELIMITERS:
        cells = next(csv.reader([header_line.rstrip("\r\n")], delimiter=delimiter), [])
        if len(cells) > 1 and cells[-1] == ERROR_COLUMN:
            return delimiter
    return None


def records(lines: Iterator[str], delimiter: str) -> Iterator[Record]:
    """The records of a file's lines (header first), each with its own text. Empty lines are
    skipped, as Meteroid's CSV reader skips them: they are no record and take no row number.

    Raises `csv.Error` for a file the csv module cannot read (a cell beyond its size limit)."""
    consumed: list[str] = []

    def feed() -> Iterator[str]:
        # csv.reader asks for lines one at a time, only as many as the record it is reading
        # needs: what was fed since the last record is that record's text.
        for line in lines:
            consumed.append(line)
            yield line

    for cells in csv.reader(feed(), delimiter=delimiter):
        raw = "".join(consumed)
        consumed.clear()
        if not cells:
            continue
        yield Record(cells, raw)


def readable(text: str) -> str:
    """A cell as Meteroid reads it: a leading byte order mark dropped, and bytes that were
    not UTF-8 read as Windows-1252."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not _ESCAPED.search(text):
        return text
    return _ESCAPED.sub(lambda match: _windows_1252(match.group()), text)


def _windows_1252(escaped: str) -> str:
    return codecs.decode(escaped.encode("utf-8", "surrogateescape"), "cp1252", "replace")


def is_legacy(text: str) -> bool:
    """Whether text read with `surrogateescape` holds bytes that were not UTF-8: the file is
    then in Windows-1252 (or Latin-1), as Meteroid reads such a file."""
    return bool(_ESCAPED.search(text))
