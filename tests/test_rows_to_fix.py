"""Rows to fix, as pure functions: CSV records from byte chunks cut anywhere, the wanted rows
picked out with their reasons, and files that do not line up refused."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.exports import csv_chunks
from dashboard.rows_to_fix import Misaligned, csv_records, fixed_rows


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


FILE = (
    "alias,name,note\r\n"
    'acme-1,Acme,"two\r\nlines"\r\n'
    "béta-2,Béta,=SUM(A1:A9)\r\n"
    "gamma-3,Gamma\r\n"
    "delta-4,Delta,-5\r\n"
).encode()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64 * 1024])
def test_records_come_whole_wherever_the_chunks_are_cut(size):
    assert list(csv_records(_chunks(FILE, size))) == [
        ["alias", "name", "note"],
        ["acme-1", "Acme", "two\r\nlines"],
        ["béta-2", "Béta", "=SUM(A1:A9)"],
        ["gamma-3", "Gamma"],
        ["delta-4", "Delta", "-5"],
    ]


def _fix(data: bytes, wanted) -> tuple[list[str], list[list[str]]]:
    header, rows = fixed_rows(csv_records(_chunks(data, 5)), wanted)
    return header, list(rows)


def test_the_wanted_rows_come_with_their_reason_padded_to_the_header():
    header, rows = _fix(FILE, [(0, "Customer 'acme-1' not found", "acme-1"), (2, "too few fields", None)])
    assert header == ["alias", "name", "note", "_error"]
    assert rows == [
        ["acme-1", "Acme", "two\r\nlines", "Customer 'acme-1' not found"],
        ["gamma-3", "Gamma", "", "too few fields"],
    ]


def test_the_users_cells_stay_as_they_were_and_only_the_reason_is_made_safe():
    _, rows = _fix(FILE, [(1, '=HYPERLINK("http://x")', "béta-2"), (3, "-1 is negative", "delta-4")])
    assert rows == [
        ["béta-2", "Béta", "=SUM(A1:A9)", '\'=HYPERLINK("http://x")'],
        ["delta-4", "Delta", "-5", "'-1 is negative"],
    ]


def test_a_row_with_two_failures_comes_once_with_both_reasons():
    _, rows = _fix(FILE, [(1, "first", "béta-2"), (1, "second", None), (3, "third", "delta-4")])
    assert [row[-1] for row in rows] == ["first; second", "third"]


def test_the_file_is_read_no_further_than_the_last_wanted_row():
    read = []

    def records():
        for record in csv.reader(io.StringIO(FILE.decode(), newline="")):
            read.append(record[0])
            yield record

    _, rows = fixed_rows(records(), [(1, "r", "béta-2")])
    assert len(list(rows)) == 1
    assert read == ["alias", "acme-1", "béta-2"]


def test_a_row_that_does_not_hold_its_identifier_refuses_the_file():
    with pytest.raises(Misaligned, match="Row 2 of the input file does not hold 'acme-1'"):
        _fix(FILE, [(1, "Customer 'acme-1' not found", "acme-1")])


def test_a_file_that_ends_before_a_wanted_row_is_refused():
    with pytest.raises(Misaligned, match="has 4 rows, but Meteroid names row 9 as failed"):
        _fix(FILE, [(0, "r", "acme-1"), (8, "r", None)])


def test_an_empty_file_is_refused():
    with pytest.raises(Misaligned, match="empty"):
        fixed_rows(csv_records([]), [(0, "r", None)])


def test_a_cell_too_large_for_the_csv_reader_is_refused_not_a_crash():
    data = b"a,b\r\n" + b"x," + b"y" * (csv.field_size_limit() + 10) + b"\r\n"
    with pytest.raises(Misaligned, match="cannot be read as CSV"):
        _fix(data, [(0, "r", None)])


def test_bytes_that_are_not_utf8_come_back_as_they_were():
    data = "alias,name\r\nzoë-1,Zoë\r\n".encode("latin-1")
    header, rows = fixed_rows(csv_records(_chunks(data, 3)), [(0, "bad name", "zo\udceb-1")])
    out = b"".join(csv_chunks(header, rows, verbatim=True))
    assert out == b"alias,name,_error\r\nzo\xeb-1,Zo\xeb,bad name\r\n"


def test_a_verbatim_file_has_no_byte_order_mark_and_keeps_its_cells():
    out = b"".join(csv_chunks(["a", "b"], [["=1+1", "-5"]], verbatim=True))
    assert out == b"a,b\r\n=1+1,-5\r\n"
    assert b"".join(csv_chunks(["a"], [["=1+1"]])).startswith("\ufeffa\r\n'=1+1".encode())
