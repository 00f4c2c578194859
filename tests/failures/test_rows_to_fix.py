"""Rows to fix, as pure functions: records from byte chunks cut anywhere, the wanted rows
picked out byte for byte with their reasons, and files that do not line up refused."""

from __future__ import annotations

import csv

import pytest

from dashboard.failures.csv_files import records, text_lines
from dashboard.failures.exports import csv_chunks
from dashboard.failures.rows_to_fix import Misaligned, fixed_file


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
def test_records_come_whole_with_their_own_text_wherever_the_chunks_are_cut(size):
    found = list(records(text_lines(_chunks(FILE, size)), ","))
    assert [r.cells for r in found] == [
        ["alias", "name", "note"],
        ["acme-1", "Acme", "two\r\nlines"],
        ["béta-2", "Béta", "=SUM(A1:A9)"],
        ["gamma-3", "Gamma"],
        ["delta-4", "Delta", "-5"],
    ]
    assert "".join(r.raw for r in found).encode() == FILE


def _fix(data: bytes, wanted, size: int = 5) -> bytes:
    return b"".join(fixed_file(_chunks(data, size), wanted))


def _table(out: bytes, delimiter: str = ",", encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(out.decode(encoding).splitlines(keepends=True), delimiter=delimiter))


def test_the_wanted_rows_come_with_their_reason_padded_to_the_header():
    out = _fix(FILE, [(0, "Customer 'acme-1' not found", "acme-1"), (2, "too few fields", None)])
    assert out == (
        b"alias,name,note,_error\r\n"
        b"acme-1,Acme,\"two\r\nlines\",Customer 'acme-1' not found\r\n"
        b"gamma-3,Gamma,,too few fields\r\n"
    )


def test_the_users_cells_stay_as_they_were_and_only_the_reason_is_made_safe():
    out = _fix(FILE, [(1, '=HYPERLINK("http://x")', "béta-2"), (3, "-1 is negative", "delta-4")])
    assert _table(out)[1:] == [
        ["béta-2", "Béta", "=SUM(A1:A9)", '\'=HYPERLINK("http://x")'],
        ["delta-4", "Delta", "-5", "'-1 is negative"],
    ]


def test_a_row_with_two_failures_comes_once_with_both_reasons():
    out = _fix(FILE, [(1, "first", "béta-2"), (1, "second", None), (3, "third", "delta-4")])
    assert [row[-1] for row in _table(out)[1:]] == ["first; second", "third"]


def test_the_file_is_read_no_further_than_the_last_wanted_row():
    read = []

    def chunks():
        for line in FILE.splitlines(keepends=True):
            read.append(line)
            yield line

    out = b"".join(fixed_file(chunks(), [(1, "r", "béta-2")]))
    assert out.endswith(b"=SUM(A1:A9),r\r\n")
    assert len(read) <= 5  # the header, row 1 (two lines) and row 2, and no more than one ahead


def test_a_row_that_does_not_hold_its_identifier_refuses_the_file():
    with pytest.raises(Misaligned, match="Row 2 of the input file does not hold 'acme-1'"):
        _fix(FILE, [(1, "Customer 'acme-1' not found", "acme-1")])


def test_a_file_that_ends_before_a_wanted_row_is_refused():
    with pytest.raises(Misaligned, match="has 4 rows, but Meteroid names row 9 as failed"):
        _fix(FILE, [(0, "r", "acme-1"), (8, "r", None)])


def test_an_empty_file_is_refused():
    with pytest.raises(Misaligned, match="empty"):
        b"".join(fixed_file([], [(0, "r", None)]))


def test_a_cell_too_large_for_the_csv_reader_is_refused_not_a_crash():
    data = b"a,b\r\n" + b"x," + b"y" * (csv.field_size_limit() + 10) + b"\r\n"
    with pytest.raises(Misaligned, match="cannot be read as CSV"):
        _fix(data, [(0, "r", None)], size=64 * 1024)


def test_a_windows_1252_file_comes_back_byte_for_byte_and_its_reasons_in_its_encoding():
    data = "alias,name\r\nzoë-1,Zoë Müller\r\nbob-2,Bob\r\n".encode("cp1252")
    # Meteroid reads such a file as Windows-1252: its identifiers and reasons are real text.
    out = _fix(data, [(0, "Name 'Zoë Müller' is taken", "zoë-1"), (1, "r", "bob-2")], size=3)
    assert (
        out
        == "alias,name,_error\r\nzoë-1,Zoë Müller,Name 'Zoë Müller' is taken\r\nbob-2,Bob,r\r\n".encode(
            "cp1252"
        )
    )


def test_a_windows_1252_file_whose_first_rows_are_ascii_has_every_reason_in_its_encoding():
    # Only the third row tells the encoding; the first row's reason is written in it too.
    data = "alias,name\r\nbob-1,Bob\r\nann-2,Ann\r\nzoë-3,Zoë\r\n".encode("cp1252")
    wanted = [(0, "Name 'Bobé' is taken", "bob-1"), (2, "Name 'Zoë' is taken", "zoë-3")]
    out = _fix(data, wanted, size=5)
    expected = "alias,name,_error\r\nbob-1,Bob,Name 'Bobé' is taken\r\nzoë-3,Zoë,Name 'Zoë' is taken\r\n"
    assert out == expected.encode("cp1252")


def test_a_utf8_file_whose_first_rows_are_ascii_keeps_its_reasons_in_utf8():
    data = "alias,name\r\nbob-1,Bob\r\nzoë-2,Zoë\r\n".encode()
    out = _fix(data, [(0, "Name 'Bobé' is taken", "bob-1"), (1, "r", "zoë-2")], size=4)
    assert out == "alias,name,_error\r\nbob-1,Bob,Name 'Bobé' is taken\r\nzoë-2,Zoë,r\r\n".encode()


def test_a_semicolon_file_keeps_its_delimiter_quoting_and_line_endings():
    data = b'alias;name;amount\nacme-1;"Acme; Inc";"1,5"\n"beta-2";Beta;2,0\n'
    out = _fix(data, [(0, "a; b", "acme-1"), (1, 'bad "amount"', "beta-2")], size=4)
    assert out == (
        b'alias;name;amount;_error\nacme-1;"Acme; Inc";"1,5";"a; b"\n"beta-2";Beta;2,0;"bad ""amount"""\n'
    )


def test_blank_lines_are_no_rows_as_meteroid_reads_them():
    data = b"alias,name\r\n\r\nacme-1,Acme\r\n\r\nbeta-2,Beta\r\n"
    assert _fix(data, [(1, "r", "beta-2")]) == b"alias,name,_error\r\nbeta-2,Beta,r\r\n"


def test_rows_to_fix_have_no_byte_order_mark_and_keep_their_cells_unlike_exports():
    out = _fix(b"a,b\r\n=1+1,-5\r\n", [(0, "r", None)])
    assert out == b"a,b,_error\r\n=1+1,-5,r\r\n"
    assert b"".join(csv_chunks(["a"], [["=1+1"]])).startswith("\ufeffa\r\n'=1+1".encode())
