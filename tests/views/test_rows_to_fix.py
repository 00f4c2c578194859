"""Rows to fix, through the gateway to the sandbox: the input file's own rows of a job's
failures, filtered as the job page is, each with its reason; and the answers when they
cannot be had."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from dashboard.failures.csv_files import readable, records, text_lines
from dashboard.failures.reasons import group_key
from dashboard.failures.whole_chunks import WHOLE_CHUNK_REASON
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.world import data
from dashboard.sandbox.world.data import SHOWCASE
from dashboard.sandbox.world.rows import HOSTILE_VALUES
from tests.support.helpers import assert_problem_page, wait_for_scan

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]
HOSTILE = SHOWCASE["hostile"]


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def _rows_to_fix(client, job: str, query: str = "") -> list[list[str]]:
    response = client.get(f"/jobs/{job}/rows-to-fix.csv{'?' + query if query else ''}")
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return _csv(b"".join(response.streaming_content))


def test_every_failed_row_comes_from_the_input_file_with_its_reason(logged_in):
    wait_for_scan(CUSTOMERS)
    input_file = _csv(b"".join(logged_in.get(f"/jobs/{CUSTOMERS}/files/input/").streaming_content))
    failures = _csv(b"".join(logged_in.get(f"/jobs/{CUSTOMERS}/failures.csv").streaming_content)[3:])[1:]
    header, *rows = _rows_to_fix(logged_in, CUSTOMERS)
    assert header == [*input_file[0], "_error"]
    assert len(rows) == len(failures) == 313
    for row, failure in zip(rows, failures, strict=True):
        number, identifier, reason = int(failure[0]), failure[1], failure[2]
        # The input file's own row, cell for cell, then the reason Meteroid gave for it.
        assert row[:-1] == input_file[number] + [""] * (len(header) - 1 - len(input_file[number]))
        assert row[-1] == reason
        assert identifier == "" or identifier in row


def test_a_reason_group_gives_its_rows_only_under_a_name_that_says_so(logged_in):
    status = wait_for_scan(CUSTOMERS)
    group = status.result.groups[1]
    response = logged_in.get(f"/jobs/{CUSTOMERS}/rows-to-fix.csv?reason={group.key}")
    assert response["Content-Disposition"] == (
        f'attachment; filename="{CUSTOMERS}-rows-to-fix-reason-{group.key}.csv"'
    )
    _, *rows = _csv(b"".join(response.streaming_content))
    assert len(rows) == group.count
    assert {group_key(row[-1]) for row in rows} == {group.key}


def test_a_chunk_and_a_search_narrow_it_as_they_narrow_the_table(logged_in):
    status = wait_for_scan(CUSTOMERS)
    chunk = max(status.result.chunks, key=lambda c: c.failures)
    _, *rows = _rows_to_fix(logged_in, CUSTOMERS, f"chunk={chunk.chunk_id}")
    assert len(rows) == chunk.failures
    _, *found = _rows_to_fix(logged_in, CUSTOMERS, "q=duplicate")
    assert found and all("duplicate" in row[-1].lower() for row in found)


def test_the_hostile_jobs_cells_come_back_unchanged_and_only_the_reason_is_defused(logged_in):
    wait_for_scan(HOSTILE)
    input_file = _csv(b"".join(logged_in.get(f"/jobs/{HOSTILE}/files/input/").streaming_content))
    _, *rows = _rows_to_fix(logged_in, HOSTILE)
    cells = {cell for row in rows for cell in row[:-1]}
    assert cells <= {cell for row in input_file for cell in row} | {""}
    assert any(value in cells for value in HOSTILE_VALUES if value[:1] in "=+-@")
    assert all(row[-1][:1] not in "=+-@\t\r" for row in rows)


def test_the_job_page_offers_the_rows_once_the_failures_are_read(logged_in):
    wait_for_scan(CUSTOMERS)
    html = logged_in.get(f"/jobs/{CUSTOMERS}/?q=alias").content.decode()
    assert f'<a id="rows-to-fix" href="/jobs/{CUSTOMERS}/rows-to-fix.csv?q=alias" download>' in html


@pytest.mark.parametrize(
    ("role", "status", "says"),
    [
        ("export", 404, "no input file"),
        ("no_failures", 404, "no rows to fix"),
        ("processing", 409, "ready when the job has ended"),
    ],
)
def test_a_job_without_rows_to_fix_says_why(logged_in, role, status, says):
    response = logged_in.get(f"/jobs/{SHOWCASE[role]}/rows-to-fix.csv")
    assert response.status_code == status
    assert says in response.content.decode()


def test_a_capped_scan_sends_people_to_meteroids_errors_csv(logged_in, settings):
    settings.SCAN_MAX_FAILURES = 100
    assert wait_for_scan(CUSTOMERS).result.capped
    response = logged_in.get(f"/jobs/{CUSTOMERS}/rows-to-fix.csv")
    assert response.status_code == 409
    assert "errors CSV has every failed row" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("reason=000000000000", 404, "No failure of {job} has a reason in group 000000000000."),
        ("reason=bad", 400, "The reason group “bad” is not a reason group"),
        (
            "chunk=bjch_0000000000000000000000",
            404,
            "Chunk bjch_0000000000000000000000 is not among the chunks",
        ),
    ],
)
def test_bad_filters_get_a_page_that_says_what_was_wrong(logged_in, query, status, says):
    wait_for_scan(CUSTOMERS)
    response = logged_in.get(f"/jobs/{CUSTOMERS}/rows-to-fix.csv?{query}")
    assert_problem_page(response, status, says.format(job=CUSTOMERS))


def test_an_input_file_that_does_not_line_up_is_refused_with_a_page(logged_in, meteroid):
    from tests.support.upstream import JOB

    logged_in.get(f"/jobs/{JOB}/")
    assert wait_for_scan(JOB).state == "done"
    response = logged_in.get(f"/jobs/{JOB}/rows-to-fix.csv")
    html = response.content.decode()
    assert response.status_code == 502
    assert "do not line up with Meteroid" in html
    assert "does not hold &#x27;cus_00000&#x27;" in html


def test_meteroid_failing_on_the_input_file_is_a_page_not_a_file(logged_in, meteroid):
    from tests.support.upstream import JOB, Reply, file_path

    logged_in.get(f"/jobs/{JOB}/")
    wait_for_scan(JOB)
    meteroid.script(file_path("input"), Reply(500, {"code": "INTERNAL_SERVER_ERROR", "message": "boom"}))
    response = logged_in.get(f"/jobs/{JOB}/rows-to-fix.csv")
    assert response.status_code == 502
    assert "text/html" in response["Content-Type"]
    assert get_gateway().job(JOB).id == JOB


def test_a_reason_groups_page_offers_its_rows_under_its_chunk(logged_in):
    status = wait_for_scan(CUSTOMERS)
    group = status.result.groups[0]
    chunk = status.result.chunks[0].chunk_id
    html = logged_in.get(f"/jobs/{CUSTOMERS}/reasons/{group.key}/?chunk={chunk}").content.decode()
    href = f"/jobs/{CUSTOMERS}/rows-to-fix.csv?chunk={chunk}&amp;reason={group.key}"
    assert f'<a id="rows-to-fix" href="{href}" download>' in html


def test_before_the_failures_are_read_it_says_so_with_a_retry(logged_in, settings, monkeypatch):
    import dashboard.views.exports

    monkeypatch.setattr(dashboard.views.exports, "CSV_WAIT_SECONDS", 0.0)
    settings.SANDBOX_LATENCY_MS = 300
    response = logged_in.get(f"/jobs/{CUSTOMERS}/rows-to-fix.csv")
    html = response.content.decode()
    assert response.status_code == 409
    assert "ready once the dashboard has read the job" in html and "Try again" in html
    wait_for_scan(CUSTOMERS)
    assert logged_in.get(f"/jobs/{CUSTOMERS}/rows-to-fix.csv").status_code == 200


@pytest.mark.parametrize(
    ("role", "delimiter", "encoding"), [("semicolon", ";", "utf-8"), ("latin1", ",", "cp1252")]
)
def test_european_files_come_back_byte_for_byte(logged_in, role, delimiter, encoding):
    # Each row to fix is the input file's own bytes (its delimiter, quoting, encoding), then
    # the file's delimiter and `_error`: records and rows of whole failed chunks alike.
    job = SHOWCASE[role]
    wait_for_scan(job)
    source = b"".join(logged_in.get(f"/jobs/{job}/files/input/").streaming_content)
    inputs = list(records(text_lines([source]), delimiter))
    failures = _csv(b"".join(logged_in.get(f"/jobs/{job}/failures.csv").streaming_content)[3:])[1:]
    response = logged_in.get(f"/jobs/{job}/rows-to-fix.csv")
    assert response.status_code == 200
    charset = "windows-1252" if encoding == "cp1252" else "utf-8"
    assert response["Content-Type"] == f"text/csv; charset={charset}"
    out = b"".join(response.streaming_content)
    fixed = list(records(text_lines([out]), delimiter))
    assert fixed[0].raw == inputs[0].body + f"{delimiter}_error" + inputs[0].line_ending
    numbers = sorted({int(row[0]) for row in failures})
    assert len(numbers) == len(fixed) - 1 == data.find_job(data.DEFAULT_SEED, job).failed_items
    reasons = {int(row[0]): row[2].removeprefix(WHOLE_CHUNK_REASON) for row in failures}
    for number, row in zip(numbers, fixed[1:], strict=True):
        original = inputs[number]
        assert row.raw.startswith(original.body + delimiter)
        assert row.raw.endswith(original.line_ending)
        # A row with too few fields (Meteroid could not read it) is padded to the header.
        assert row.cells[:-1] == original.cells + [""] * (len(inputs[0].cells) - len(original.cells))
        assert readable(row.cells[-1]) == reasons[number]
    if encoding == "cp1252":
        with pytest.raises(UnicodeDecodeError):
            out.decode("utf-8")
        assert "é" in out.decode("cp1252") or "ü" in out.decode("cp1252")
