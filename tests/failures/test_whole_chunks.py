"""Recovering the rows of whole failed chunks from an errors CSV, as pure functions."""

from __future__ import annotations

import pytest

from dashboard.failures.csv_files import errors_delimiter, records, sniff_delimiter, text_lines
from dashboard.failures.whole_chunks import CHUNK_FAILED, NotRecovered, account, recover

CUSTOMERS = "CUSTOMER_CSV_IMPORT"


def _recover(input_text: bytes, errors_text: bytes, record_indices=(), *, size=2, total=None):
    inputs = records(text_lines([input_text]), sniff_delimiter(input_text.decode("latin-1").split("\n")[0]))
    delimiter = errors_delimiter(errors_text.decode().split("\n")[0])
    assert delimiter is not None
    errors = records(text_lines([errors_text]), delimiter)
    return recover(
        inputs,
        errors,
        record_indices=set(record_indices),
        chunk_size=size,
        total_items=total,
        job_type=CUSTOMERS,
    )


INPUT = b"name,alias\nAcme,acme-1\nBeta,beta-2\nGamma,gamma-3\nDelta,delta-4\nEps,eps-5\n"


def test_rows_of_a_whole_failed_chunk_get_their_numbers_range_reason_and_identifier():
    # Rows 1 and 5 have failure records (row 1 two of them, joined); rows 3-4 are chunk 1,
    # failed as a whole.
    errors = (
        b"name,alias,_error\n"
        b"Acme,acme-1,first; second\n"
        b"Gamma,gamma-3,Database error: timeout\n"
        b"Delta,delta-4,Database error: timeout\n"
        b"Eps,eps-5,bad\n"
    )
    found = _recover(INPUT, errors, {0, 4}, total=5)
    assert found.item_indices == [2, 3]
    assert found.identifiers == ["gamma-3", "delta-4"]
    assert found.reasons == ["Database error: timeout"] * 2
    assert found.chunk_keys == ["rows-3-4"] * 2
    (chunk,) = found.chunks
    assert (chunk.first_index, chunk.last_index, chunk.rows, chunk.message) == (
        2,
        3,
        2,
        "Database error: timeout",
    )
    assert found.unreadable == 0


def test_the_last_chunk_is_cut_at_the_files_end_and_an_empty_error_reads_as_meteroids_default():
    errors = b"name,alias,_error\nEps,eps-5,\n"
    found = _recover(INPUT, errors, total=5)
    assert found.item_indices == [4]
    assert found.chunks[0].key == "rows-5-5"
    assert found.reasons == [CHUNK_FAILED]


def test_rows_that_do_not_parse_are_left_out_and_counted():
    source = b"name,alias\nAcme,acme-1\nBeta\nGamma,gamma-3\nDelta,delta-4\n"
    errors = b"name,alias,_error\nAcme,acme-1,lost\nGamma,gamma-3,r\n"
    # Chunk 0 failed as a whole; its row 2 has one field, so Meteroid left it out.
    found = _recover(source, errors, {2})
    assert found.item_indices == [0]
    assert found.unreadable == 1


def test_a_semicolon_windows_1252_input_matches_its_utf8_errors_csv():
    source = "name;alias\nZoë Müller;zoe-1\nBob;bob-2\nCafé;cafe-3\n".encode("cp1252")
    errors = "name;alias;_error\nCafé;cafe-3;Chunk failed\n".encode()
    found = _recover(source, errors, size=2, total=3)
    assert found.item_indices == [2]
    assert found.identifiers == ["cafe-3"]


def test_a_chunk_half_in_the_errors_csv_recovers_nothing():
    errors = b"name,alias,_error\nGamma,gamma-3,x\n"  # row 4 of the same chunk is missing
    with pytest.raises(NotRecovered, match="row 4 of a chunk that failed as a whole"):
        _recover(INPUT, errors)


def test_a_chunk_whose_first_rows_are_missing_from_the_errors_csv_recovers_nothing():
    errors = b"name,alias,_error\nDelta,delta-4,x\n"  # row 3, the chunk's first, is missing
    with pytest.raises(
        NotRecovered, match="row 4 is in the errors CSV, but 1 earlier row of its chunk is not"
    ):
        _recover(INPUT, errors)


def test_a_row_with_records_missing_from_the_errors_csv_recovers_nothing():
    errors = b"name,alias,_error\nGamma,gamma-3,x\nDelta,delta-4,x\n"
    with pytest.raises(NotRecovered, match="row 1 has failure records"):
        _recover(INPUT, errors, {0})


def test_errors_rows_the_input_does_not_have_recover_nothing():
    errors = b"name,alias,_error\nZed,zed-9,x\n"
    with pytest.raises(NotRecovered, match="does not have in that order"):
        _recover(INPUT, errors)


def test_a_repeated_row_that_could_mislead_the_matching_is_refused_not_misnumbered():
    # Row 1 equals row 3, which is in a whole failed chunk: matching row 1 first would put
    # chunk 0 among the failed ones, and its row 2 then contradicts it.
    source = b"name,alias\nAcme,acme-1\nBeta,beta-2\nAcme,acme-1\nDelta,delta-4\n"
    errors = b"name,alias,_error\nAcme,acme-1,x\nDelta,delta-4,x\n"
    with pytest.raises(NotRecovered):
        _recover(source, errors)


def test_an_errors_csv_with_another_header_recovers_nothing():
    with pytest.raises(NotRecovered, match="header"):
        _recover(INPUT, b"alias,name,_error\nacme-1,Acme,x\n")


def test_the_errors_csvs_delimiter_is_the_one_before_error():
    assert errors_delimiter("a;b;_error\r\n") == ";"
    assert errors_delimiter('a,"b,c",_error\n') == ","
    assert errors_delimiter("a\tb\t_error") == "\t"
    assert errors_delimiter("a,b,error") is None
    assert sniff_delimiter('name;"a,b";alias\r\n') == ";"
    assert sniff_delimiter("alias\n") == ","


def _account(**changes):
    values = {
        "failed_items": 100,
        "failure_count": 40,
        "is_terminal": True,
        "has_error_csv": True,
        "scan_state": "done",
    }
    return account(**(values | changes))


def test_every_failed_row_is_accounted_for_and_lost_ones_say_why():
    whole = _account(chunk_rows=60, failed_chunks=3)
    assert (whole.records, whole.chunk_rows, whole.lost, whole.why) == (40, 60, 0, "")
    short = _account(chunk_rows=58, failed_chunks=3, unreadable=2)
    assert short.lost == 2 and "do not parse as CSV" in short.why
    assert "still running" in _account(is_terminal=False, scan_state=None).why
    assert "no errors CSV" in _account(has_error_csv=False).why
    assert (
        "does not line up" in _account(problem="its errors CSV does not line up with the input file: x.").why
    )
    assert _account(scan_state="running").reading
    assert "more failures than the dashboard reads" in _account(capped=True).why
