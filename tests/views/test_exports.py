"""The failures CSV, through the gateway to the sandbox: filters, counts, safety, streaming."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from dashboard.failures.exports import FORMULA_STARTS
from dashboard.failures.reasons import pattern_of
from dashboard.index.reading import JobFailures
from dashboard.meteroid.gateway import get_gateway
from dashboard.sandbox.world.data import SHOWCASE
from dashboard.sandbox.world.rows import HOSTILE_VALUES
from dashboard.views.exports import export_filename
from tests.support.helpers import assert_problem_page, wait_for_scan

pytestmark = pytest.mark.django_db

CUSTOMERS = SHOWCASE["customers"]
SUBSCRIPTIONS = SHOWCASE["subscriptions"]
HOSTILE = SHOWCASE["hostile"]
HEADER = ["row", "identifier", "reason", "pattern", "chunk_id", "job_id"]


def _read(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    data = b"".join(response.streaming_content).decode("utf-8")
    assert data.startswith("\ufeff")
    header, *rows = csv.reader(io.StringIO(data[1:], newline=""))
    assert header == HEADER
    return rows


def test_the_whole_job_has_as_many_rows_as_meteroid_counts(logged_in):
    wait_for_scan(CUSTOMERS)
    response = logged_in.get(f"/jobs/{CUSTOMERS}/failures.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{CUSTOMERS}-failures.csv"'
    rows = _read(response)
    total = get_gateway().failures(get_gateway().job(CUSTOMERS), limit=1, offset=0).total_count
    assert len(rows) == total == 313
    numbers = [int(row[0]) for row in rows]
    assert numbers == sorted(numbers)
    assert {row[5] for row in rows} == {CUSTOMERS}
    assert all(row[3] == pattern_of(row[2]).text for row in rows)


def test_a_chunk_a_group_and_a_search_each_narrow_the_file(logged_in):
    status = wait_for_scan(SUBSCRIPTIONS)
    analysis = JobFailures(status.index)
    chunk = max(status.result.chunks, key=lambda c: c.failures)
    rows = _read(logged_in.get(f"/jobs/{SUBSCRIPTIONS}/failures.csv?chunk={chunk.chunk_id}"))
    assert len(rows) == chunk.failures
    assert {row[4] for row in rows} == {chunk.chunk_id}

    top = analysis.grouping.groups[0]
    response = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/failures.csv?reason={top.key}")
    assert f"-failures-reason-{top.key}.csv" in response["Content-Disposition"]
    rows = _read(response)
    assert len(rows) == top.count
    assert {row[3] for row in rows} == {top.template.text}

    rows = _read(logged_in.get(f"/jobs/{SUBSCRIPTIONS}/failures.csv?q=PLAN_6CO"))
    every = analysis.select().page(0, len(analysis))
    expected = [
        f for f in every if "plan_6co" in f.reason.lower() or "plan_6co" in (f.item_identifier or "").lower()
    ]
    assert len(every) == len(analysis) and expected and len(rows) == len(expected)


def test_filters_combine_in_the_file_and_its_name(logged_in):
    status = wait_for_scan(SUBSCRIPTIONS)
    analysis = JobFailures(status.index)
    chunk = status.result.chunks[0].chunk_id
    top = analysis.grouping.groups[0]
    response = logged_in.get(f"/jobs/{SUBSCRIPTIONS}/failures.csv?chunk={chunk}&reason={top.key}&q=found")
    rows = _read(response)
    assert len(rows) == len(analysis.select(chunk_id=chunk, group_key=top.key, query="found"))
    assert response["Content-Disposition"] == (
        f'attachment; filename="{SUBSCRIPTIONS}-failures-chunk-{chunk}-reason-{top.key}-search-found.csv"'
    )


def test_the_hostile_job_exports_without_a_single_live_formula(logged_in):
    wait_for_scan(HOSTILE)
    rows = _read(logged_in.get(f"/jobs/{HOSTILE}/failures.csv"))
    assert len(rows) == get_gateway().job(HOSTILE).failure_count
    cells = [cell for row in rows for cell in row]
    for cell in cells:
        assert cell.lstrip(" ")[:1] not in FORMULA_STARTS, cell
    identifiers = {row[1] for row in rows}
    for value in ("=HYPERLINK", "+1", "-2", "@SUM(A1:A9)"):
        hostile = next(v for v in HOSTILE_VALUES if v.startswith(value))
        assert "'" + hostile in identifiers
    # Everything else comes through as it was: quotes, newlines, scripts, bidi overrides.
    assert 'line one\r\nline two, "quoted"' in identifiers
    assert "<script>alert(1)</script>" in identifiers
    assert "invoice-\u202egpj.exe" in identifiers


def test_an_export_before_the_scan_reads_meteroid_directly(logged_in, settings):
    settings.SANDBOX_LATENCY_MS = 150
    job = get_gateway().job(SUBSCRIPTIONS)
    rows = _read(logged_in.get(f"/jobs/{SUBSCRIPTIONS}/failures.csv"))
    assert len(rows) == job.failure_count
    key = pattern_of(rows[0][2]).key
    filtered = _read(logged_in.get(f"/jobs/{SUBSCRIPTIONS}/failures.csv?reason={key}&q=plan"))
    assert filtered and all(row[3] == rows[0][3] and "plan" in row[2].lower() for row in filtered)
    assert len(filtered) == sum(
        1 for row in rows if pattern_of(row[2]).key == key and "plan" in row[2].lower()
    )


def test_a_failure_before_the_first_byte_is_a_page_not_a_file(logged_in, settings):
    get_gateway().job(CUSTOMERS)  # the job itself is now cached, its failures not scanned
    settings.SANDBOX_RATE_500 = 1.0
    response = logged_in.get(f"/jobs/{CUSTOMERS}/failures.csv")
    assert response.status_code == 502
    assert "text/html" in response["Content-Type"]


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
        ("q=" + "x" * 300, 400, "The search can be at most 200 characters long; this one has 300."),
    ],
)
def test_bad_filters_get_a_page_that_says_what_was_wrong(logged_in, query, status, says):
    wait_for_scan(CUSTOMERS)
    response = logged_in.get(f"/jobs/{CUSTOMERS}/failures.csv?{query}")
    assert_problem_page(response, status, says.format(job=CUSTOMERS))


def test_file_names_are_safe_whatever_was_searched():
    name = export_filename("bjob_x", q='../"><script> Acme GmbH')
    assert name == "bjob_x-failures-search-script_Acme_GmbH.csv"
    assert export_filename("bjob_x", q="…") == "bjob_x-failures-search-text.csv"


def test_an_export_goes_beyond_a_capped_scan(logged_in, settings):
    settings.SCAN_MAX_FAILURES = 100
    assert wait_for_scan(CUSTOMERS).result.capped
    rows = _read(logged_in.get(f"/jobs/{CUSTOMERS}/failures.csv"))
    assert len(rows) == 313


def _with_empty_pages(meteroid, failures: int, empty: range) -> None:
    from tests.support.upstream import JOB, Reply, detail_json, failure_json, failures_path

    meteroid.details[JOB] = detail_json(
        total_items=failures, processed_items=failures, failed_items=failures, failure_count=failures
    )
    meteroid.failures[JOB] = [failure_json(i) for i in range(failures)]

    def answer(query):
        if int(query.get("offset", ["0"])[0]) in empty:
            return Reply(200, {"data": [], "total_count": failures})
        return meteroid._failures(JOB, query)

    meteroid.script(failures_path(), answer)


def test_fewer_failures_than_announced_before_the_first_byte_is_a_page(logged_in, meteroid):
    from tests.support.upstream import JOB

    _with_empty_pages(meteroid, 300, range(100, 200))
    response = logged_in.get(f"/jobs/{JOB}/failures.csv")
    assert response.status_code == 502
    assert "text/html" in response["Content-Type"]
    assert "Meteroid sent 0 of the 100 failures expected from row 101 on, of the 300 it announced" in (
        response.content.decode()
    )


def test_fewer_failures_than_announced_after_the_first_byte_aborts_the_download(logged_in, meteroid, caplog):
    from dashboard.meteroid.errors import MeteroidError
    from tests.support.upstream import JOB

    _with_empty_pages(meteroid, 3000, range(2000, 3000))
    response = logged_in.get(f"/jobs/{JOB}/failures.csv")
    assert response.status_code == 200
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith("\ufeffrow,".encode())
    # The error goes up to the server, which then ends the response short of its last chunk.
    with pytest.raises(MeteroidError, match="expected from row 2,001 on, of the 3,000 it announced"):
        list(chunks)
    aborted = [r for r in caplog.records if r.name == "dashboard.downloads"]
    assert aborted and f"failures CSV of {JOB} aborted after" in aborted[0].getMessage()
