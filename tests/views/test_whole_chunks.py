"""Rows of whole failed chunks, read from Meteroid's errors CSV: in the job's summary, table,
chunk filter, search, reason groups and all three exports, through the gateway to the sandbox."""

from __future__ import annotations

import csv
import html as htmllib
import io
import re

import pytest

from dashboard.failures.whole_chunks import WHOLE_CHUNK_REASON
from dashboard.index import indexing, queries, sources
from dashboard.index.status import READING_CHUNK_ROWS, ScanStatus, scan_status
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.world import data
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.helpers import wait_for_scan
from tests.support.upstream import JOB, Reply

pytestmark = pytest.mark.django_db

WHOLE = SHOWCASE["whole_chunks"]  # failure records and whole failed chunks
WHOLE_ONLY = SHOWCASE["whole_only"]  # whole failed chunks and no failure record at all


def _sandbox_job(job_id: str) -> data.Job:
    job = data.find_job(data.DEFAULT_SEED, job_id)
    assert job is not None
    return job


def _table_rows(html: str) -> list[tuple[int, str]]:
    """(row number, chunk cell) of each table row: `bjch_…`, or `rows-…` for a whole chunk."""
    rows, chunk = [], ""
    for number, cells in re.findall(r'<tr id="row-(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        if found := re.search(r'<td class="chunk[^"]*"[^>]*><a href="\?chunk=([^"&]+)', cells):
            chunk = found.group(1)
        rows.append((int(number), chunk))
    return rows


def _indexed(status: ScanStatus) -> list[tuple[int, str, str, str]]:
    """(item index, identifier, reason, chunk id) of every failure the job's index holds, in
    file order."""
    assert status.index is not None
    return [
        (row - 1, identifier, reason, chunk)
        for row, _id, identifier, reason, chunk, *_ in queries.stream(status.index)
    ]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body, newline="")))


@pytest.mark.parametrize("role", ["whole_chunks", "whole_only", "semicolon", "latin1", "failed"])
def test_the_scan_holds_every_failed_row(role):
    job = _sandbox_job(SHOWCASE[role])
    result = wait_for_scan(job.id).result
    assert result is not None and not result.chunk_rows_problem
    # Failure records and rows of whole failed chunks: every failed row, each counted once,
    # but those of whole chunks that do not parse (Meteroid leaves them out of the errors CSV).
    size = job.plan.chunk_size
    width = len(data.input_header(job))
    lost = {k for k in data.failed_chunks(job) if k < job.processed_items // size}
    short = sum(
        len(row) != width
        for n, row in enumerate(data.input_rows(job))
        if n // size in lost and n < job.processed_items
    )
    assert result.unreadable == short
    assert result.records == job.failure_count
    assert result.records + result.chunk_rows + result.unreadable == job.failed_items
    failures = _indexed(wait_for_scan(job.id))
    indices = [i for i, *_ in failures]
    assert len(failures) == job.failed_items - short
    assert indices == sorted(set(indices))
    whole = [(i, c, r) for i, _, r, c in failures if c.startswith("rows-")]
    assert len(whole) == result.chunk_rows
    for index, chunk, reason in whole:
        first, last = (int(n) - 1 for n in chunk.removeprefix("rows-").split("-"))
        assert first == index // size * size and first <= index <= last
        assert reason.startswith(WHOLE_CHUNK_REASON)
        assert reason.removeprefix(WHOLE_CHUNK_REASON) == data.chunk_error(job, index // size)


def test_the_summary_counts_records_and_rows_of_whole_chunks(logged_in):
    job = _sandbox_job(WHOLE)
    wait_for_scan(WHOLE)
    html = logged_in.get(f"/jobs/{WHOLE}/").content.decode()
    chunk_rows = job.failed_items - job.failure_count
    assert (
        f"{job.failed_items:,} failed rows: {job.failure_count:,} with a reason recorded by Meteroid, and "
        f"{chunk_rows:,} rows of {chunk_rows // 50} chunks that failed as a whole"
    ) in html
    assert "more is in neither" not in html and "more are in neither" not in html


def test_before_the_rows_are_read_the_summary_says_they_are_being_read(logged_in, monkeypatch):
    # The scan held where it starts: still reading.
    monkeypatch.setattr(
        "dashboard.views.job.scan_status", lambda job: ScanStatus("running", 0, job.failure_count)
    )
    html = logged_in.get(f"/jobs/{WHOLE}/").content.decode()
    assert "were lost with chunks that failed as a whole" in html
    assert "The dashboard is reading them from the errors CSV." in html


def test_the_table_lists_every_failed_row_and_marks_those_of_whole_chunks(logged_in):
    job = _sandbox_job(WHOLE)
    wait_for_scan(WHOLE)
    seen: list[tuple[int, str]] = []
    page = 1
    while True:
        html = logged_in.get(f"/jobs/{WHOLE}/?per_page=100&page={page}").content.decode()
        rows = _table_rows(html)
        seen += rows
        if len(rows) < 100:
            break
        page += 1
    assert len(seen) == job.failed_items
    assert [n for n, _ in seen] == sorted({n for n, _ in seen})
    whole = [(n, c) for n, c in seen if c.startswith("rows-")]
    assert len(whole) == job.failed_items - job.failure_count
    assert 'class="chunk whole"' in html or whole[-1][0] < seen[-100][0]
    first_whole = logged_in.get(f"/jobs/{WHOLE}/?row={whole[0][0]}").content.decode()
    assert re.search(
        r'tabindex="-1">rows [\d,]+–[\d,]+</a> <small>failed as a whole, no chunk id</small>', first_whole
    )


def test_the_chunk_filter_takes_a_whole_chunk_by_its_rows(logged_in):
    job = _sandbox_job(WHOLE)
    result = wait_for_scan(WHOLE).result
    assert result is not None
    chunks = [c for c in result.chunks if c.whole]
    assert len(chunks) == result.failed_chunks > 0
    chunk = chunks[0]
    html = logged_in.get(f"/jobs/{WHOLE}/").content.decode()
    assert f'<option value="{chunk.chunk_id}">rows {chunk.row_start:,}–{chunk.row_end:,}' in html
    html = logged_in.get(f"/jobs/{WHOLE}/?chunk={chunk.chunk_id}&per_page=100").content.decode()
    rows = _table_rows(html)
    assert [n for n, _ in rows] == list(range(chunk.row_start, chunk.row_end + 1))
    assert {c for _, c in rows} == {chunk.chunk_id}
    assert data.chunk_error(job, chunk.first_index // 50) in html
    # A range that is no failed chunk of this job is named as such.
    response = logged_in.get(f"/jobs/{WHOLE}/?chunk=rows-2-3")
    assert response.status_code == 404
    assert logged_in.get(f"/jobs/{WHOLE}/?chunk=rows-0-3").status_code == 400


def test_search_finds_a_row_of_a_whole_chunk_by_its_identifier(logged_in):
    failures = _indexed(wait_for_scan(WHOLE))
    index, identifier = next((i, ident) for i, ident, _, c in failures if c.startswith("rows-") and ident)
    html = logged_in.get(f"/jobs/{WHOLE}/?q={identifier}").content.decode()
    assert index + 1 in [n for n, _ in _table_rows(html)]


def test_whole_chunks_have_their_own_reason_groups(logged_in):
    job = _sandbox_job(WHOLE)
    result = wait_for_scan(WHOLE).result
    assert result is not None
    whole_groups = [g for g in result.groups if g.template.text.startswith(WHOLE_CHUNK_REASON)]
    assert sum(g.count for g in whole_groups) == job.failed_items - job.failure_count
    assert sum(g.count for g in result.groups) == job.failed_items
    html = logged_in.get(f"/jobs/{WHOLE}/reasons/").content.decode()
    assert "Chunk failed as a whole" in html
    assert (
        f"187 failed rows with a reason recorded and {job.failed_items - 187} rows of chunks that failed as a whole"
        in html
    )
    group = whole_groups[0]
    listed = logged_in.get(f"/jobs/{WHOLE}/?reason={group.key}&per_page=100").content.decode()
    assert len(_table_rows(listed)) == min(100, group.count)
    header, *lines = _csv(logged_in.get(f"/jobs/{WHOLE}/reasons.csv"))
    pattern, failures = header.index("pattern"), header.index("failures")
    whole_lines = [line for line in lines if line[pattern].startswith(WHOLE_CHUNK_REASON)]
    assert sum(int(line[failures]) for line in whole_lines) == job.failed_items - job.failure_count
    assert sum(int(line[failures]) for line in lines) == job.failed_items


def test_the_failures_csv_has_every_failed_row(logged_in):
    job = _sandbox_job(WHOLE)
    wait_for_scan(WHOLE)
    table = _csv(logged_in.get(f"/jobs/{WHOLE}/failures.csv"))
    header, rows = table[0], table[1:]
    assert header == ["row", "identifier", "reason", "pattern", "chunk_id", "job_id"]
    assert len(rows) == job.failed_items
    whole = [row for row in rows if row[2].startswith(WHOLE_CHUNK_REASON)]
    assert len(whole) == job.failed_items - job.failure_count
    assert all(row[4] == "" for row in whole)  # Meteroid gives such a row no chunk id
    assert all(row[4].startswith("bjch_") for row in rows if row not in whole)


def test_a_job_of_whole_chunks_only_has_its_rows_everywhere(logged_in):
    job = _sandbox_job(WHOLE_ONLY)
    assert job.failure_count == 0
    wait_for_scan(WHOLE_ONLY)
    html = logged_in.get(f"/jobs/{WHOLE_ONLY}/?per_page=100").content.decode()
    assert f"of {job.failed_items:,}" in html
    assert len(_table_rows(html)) == 100
    assert len(_csv(logged_in.get(f"/jobs/{WHOLE_ONLY}/failures.csv"))) - 1 == job.failed_items
    response = logged_in.get(f"/jobs/{WHOLE_ONLY}/rows-to-fix.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert len(rows) - 1 == job.failed_items


def _summary(html: str) -> str:
    found = re.search(r'id="failed-rows-account">(.*?)</p>', html, re.S)
    assert found is not None
    return htmllib.unescape(found.group(1))


def test_a_job_without_an_errors_csv_keeps_the_lost_rows_sentence_and_says_why(logged_in, meteroid):
    meteroid.details[JOB] |= {"failed_items": 170, "has_error_csv": False, "error_csv_url": None}
    wait_for_scan(JOB)
    text = _summary(logged_in.get(f"/jobs/{JOB}/").content.decode())
    assert text.startswith("50 of the 170 failed rows have no reason recorded: they were lost with chunks")
    assert "Meteroid has written no errors CSV for this job" in text


def test_an_errors_csv_that_holds_none_of_them_says_so(logged_in, meteroid):
    meteroid.details[JOB] |= {"failed_items": 170}
    wait_for_scan(JOB)
    text = _summary(logged_in.get(f"/jobs/{JOB}/").content.decode())
    assert text.endswith("Not shown here: Meteroid's errors CSV holds none of them.")


def test_an_errors_csv_that_does_not_line_up_keeps_the_sentence_and_says_why(logged_in, meteroid):
    # The scripted errors CSV holds a row the input file does not have: no row is guessed.
    meteroid.details[JOB] |= {"failed_items": 170}
    meteroid.files["errors"] = Reply(
        200, b"alias,name,_error\r\nacme-1,Acme,x\r\nzed-9,Zed,y\r\n", {"Content-Type": "text/csv"}
    )
    result = wait_for_scan(JOB).result
    assert result is not None and result.chunk_rows == 0 and result.scanned == 120
    text = _summary(logged_in.get(f"/jobs/{JOB}/").content.decode())
    assert text.startswith("50 of the 170 failed rows have no reason recorded")
    assert "could not read them: its errors CSV does not line up with the input file" in text
    assert logged_in.get(f"/jobs/{JOB}/failures.csv").status_code == 200


def test_rows_of_whole_chunks_count_against_the_scans_cap(logged_in, settings):
    job = _sandbox_job(WHOLE)
    settings.SCAN_MAX_FAILURES = job.failed_items - 1  # the records fit, not every failed row
    result = wait_for_scan(WHOLE).result
    assert result is not None and not result.capped and result.chunk_rows == 0
    text = _summary(logged_in.get(f"/jobs/{WHOLE}/").content.decode())
    assert f"more failed rows ({job.failed_items:,}) than the dashboard reads" in text


def test_while_the_errors_csv_is_read_the_scan_says_so(meteroid, monkeypatch):
    meteroid.details[JOB] |= {"failed_items": 170}
    meteroid.files["errors"] = Reply(200, b"alias,name,_error\r\nacme-1,Acme,x\r\n")
    job = get_gateway().job(JOB)
    # The records make one batch of their own: written, they are the scan's progress.
    monkeypatch.setattr(indexing, "BATCH_ROWS", job.failure_count)
    seen = []
    read = sources.read_chunk_rows

    def reading(*args, **kwargs):
        seen.append(scan_status(job))  # what a page asks while the errors CSV is read
        return read(*args, **kwargs)

    monkeypatch.setattr(sources, "read_chunk_rows", reading)
    assert wait_for_scan(JOB).state == "done"
    assert [(s.state, s.message) for s in seen] == [("running", READING_CHUNK_ROWS)]


def test_both_row_exports_take_a_whole_chunk_by_its_rows(logged_in):
    job = _sandbox_job(WHOLE)
    result = wait_for_scan(WHOLE).result
    assert result is not None
    chunk = next(c for c in result.chunks if c.whole)
    failures = _csv(logged_in.get(f"/jobs/{WHOLE}/failures.csv?chunk={chunk.chunk_id}"))[1:]
    assert [int(row[0]) for row in failures] == list(range(chunk.row_start, chunk.row_end + 1))
    response = logged_in.get(f"/jobs/{WHOLE}/rows-to-fix.csv?chunk={chunk.chunk_id}")
    assert response["Content-Disposition"].endswith(f'-rows-to-fix-chunk-{chunk.chunk_id}.csv"')
    _, *rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    inputs = list(data.input_rows(job))
    # The input's own rows, each with the chunk's error, as Meteroid's errors CSV has them.
    assert [row[:-1] for row in rows] == inputs[chunk.first_index : chunk.last_index + 1]
    assert {row[-1] for row in rows} == {data.chunk_error(job, chunk.first_index // 50)}
