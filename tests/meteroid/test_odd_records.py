"""One odd record never hides the others: answers of the right shape holding odd or unreadable
records, through the real gateway over HTTP to the scripted Meteroid (tests/support/upstream.py).

A value that is odd but typed (a negative or absurd count, dates out of order) is shown as
Meteroid gave it, with a warning; a field that cannot be read shows as unreadable; only a
record without a usable id is left out of a list, and the page says so. An answer that is not
of the expected shape at all is still an upstream error.

Most odd values here keep the contract (the spec sets no minimum on the counts, nor any order
on the dates); the scripted Meteroid checks that they do. Those that break it on purpose say
so (`contract=False`).
"""

from __future__ import annotations

import csv
import io

import pytest

from tests.support.helpers import htmx, later, wait_for_scan
from tests.support.markup import audit, texts
from tests.support.upstream import (
    JOB,
    JOBS_PATH,
    Reply,
    detail_json,
    failure_json,
    failures_path,
    job_json,
    job_path,
)

pytestmark = pytest.mark.django_db

ODD = "bjob_Odd00000000000000003"
INT32_MAX = 2_147_483_647
INT32_MIN = -2_147_483_648


def listing(*jobs: object) -> dict:
    return {
        "data": list(jobs),
        "pagination_meta": {"page": 0, "per_page": 25, "total_items": len(jobs), "total_pages": 1},
    }


def without(record: dict, name: str) -> dict:
    return {k: v for k, v in record.items() if k != name}


def page(response) -> str:
    html = response.content.decode()
    assert response.status_code == 200, html[:500]
    assert audit(html) == []
    assert "Traceback" not in html
    return html


# Odd but typed: shown as Meteroid gave them, with a warning that says what looks wrong.
WARNINGS = [
    pytest.param({"processed_items": -5}, "Meteroid reports −5 processed rows", id="processed -5"),
    pytest.param(
        {"processed_items": INT32_MIN},
        "Meteroid reports −2,147,483,648 processed rows",
        id="processed int32 min",
    ),
    pytest.param(
        {"failed_items": INT32_MAX}, "Meteroid reports 2,147,483,647 failed rows", id="failed int32 max"
    ),
    pytest.param(
        {"failed_items": INT32_MIN}, "Meteroid reports −2,147,483,648 failed rows", id="failed int32 min"
    ),
    pytest.param(
        {"total_items": INT32_MIN}, "Meteroid reports −2,147,483,648 rows in the file", id="total int32 min"
    ),
    pytest.param(
        {"total_items": None, "processed_items": 40},
        "Meteroid reports 40 processed rows, but no total",
        id="total null with processed > 0",
    ),
    pytest.param(
        {"total_items": 100, "processed_items": 150, "failed_items": 10},
        "Meteroid reports 150 processed rows of a file of 100",
        id="processed beyond the total",
    ),
    pytest.param(
        {"created_at": "2026-03-25T10:00:00.000Z", "completed_at": "2026-03-25T09:00:00.000Z"},
        "Meteroid says this job ended before it was created",
        id="completed before created",
    ),
]

# Cannot be read at all: the field shows as unreadable, and the row says so.
UNREADABLE = [
    pytest.param({"created_at": "yesterday"}, "created_at", id="time that does not parse"),
    pytest.param(
        {"completed_at": "2026-13-45T99:00:00Z"}, "completed_at", id="completed_at that does not parse"
    ),
    pytest.param({"created_at": "2026-03-25T10:00:00"}, "created_at", id="time without a zone"),
    pytest.param({"failed_items": "many"}, "failed_items", id="count that is not a number"),
    pytest.param({"processed_items": 1.5}, "processed_items", id="count that is not whole"),
    pytest.param({"processed_items": True}, "processed_items", id="count that is a boolean"),
    pytest.param({"processed_items": None}, "processed_items", id="required count that is null"),
    pytest.param({"status": 3}, "status", id="status that is not text"),
]
MISSING = ["status", "job_type", "created_at", "processed_items", "failed_items", "created_by"]


# --- the job list ---------------------------------------------------------------------------------


@pytest.fixture
def listed(logged_in, meteroid):
    """Serve a job list of one good job and the given odd one; return the page."""

    def show(odd: object, *, contract: bool = True) -> str:
        meteroid.script(JOBS_PATH, Reply(200, listing(job_json(), odd), contract=contract))
        return page(logged_in.get("/jobs/"))

    return show


def _row_of(html: str, job_id: str) -> str:
    start = html.index(f'id="job-{job_id}"')
    return html[start : html.index("</tr>", start)]


@pytest.mark.parametrize(("changes", "warning"), WARNINGS)
def test_a_job_with_an_odd_value_is_listed_with_a_warning_beside_the_others(listed, changes, warning):
    html = listed(job_json(ODD, **changes))
    assert f'href="/jobs/{JOB}/"' in html  # the good job
    assert warning in texts(_row_of(html, ODD))
    assert warning not in texts(_row_of(html, JOB))


@pytest.mark.parametrize(("changes", "field"), UNREADABLE)
def test_a_job_with_an_unreadable_field_is_listed_and_says_so(listed, changes, field):
    html = listed(job_json(ODD, **changes), contract=False)
    assert f'href="/jobs/{JOB}/"' in html
    row = texts(_row_of(html, ODD))
    assert "unreadable" in row
    assert field in row
    assert "unreadable" not in texts(_row_of(html, JOB))


@pytest.mark.parametrize("field", MISSING)
def test_a_job_missing_a_required_field_is_listed_as_unreadable(listed, field):
    html = listed(without(job_json(ODD), field), contract=False)
    row = texts(_row_of(html, ODD))
    assert "unreadable" in row and field in row


@pytest.mark.parametrize(
    ("record", "why"),
    [
        pytest.param(without(job_json(ODD), "id"), "no id", id="no id"),
        pytest.param(job_json(ODD, id=None), "no id", id="null id"),
        pytest.param(job_json(ODD, id=42), "an id that is not text", id="numeric id"),
        pytest.param(job_json(ODD, id=""), "an empty id", id="empty id"),
        pytest.param("bjob_just_a_string", "not a record", id="not an object"),
    ],
)
def test_a_job_without_a_usable_id_is_left_out_and_counted(listed, record, why):
    html = listed(record, contract=False)
    assert f'href="/jobs/{JOB}/"' in html
    shown = texts(html)
    assert "1 job that Meteroid listed is left out" in shown
    assert why in shown


def test_several_left_out_jobs_are_counted_by_reason(logged_in, meteroid):
    meteroid.script(
        JOBS_PATH,
        Reply(
            200,
            listing(job_json(), None, without(job_json(ODD), "id"), job_json(ODD, id=7), []),
            contract=False,
        ),
    )
    shown = texts(page(logged_in.get("/jobs/")))
    assert "4 jobs that Meteroid listed are left out" in shown
    assert "2 are not records" in shown and "1 has no id" in shown and "1 has an id that is not text" in shown


def test_the_jobs_table_fragment_carries_the_warnings_too(logged_in, meteroid):
    meteroid.script(
        JOBS_PATH, Reply(200, listing(job_json(), job_json(ODD, processed_items=-5), {}), contract=False)
    )
    html = page(logged_in.get("/jobs/", **htmx("jobs-table")))
    assert html.lstrip().startswith('<section id="jobs-table"')
    assert "Meteroid reports −5 processed rows" in texts(html)
    assert "1 job that Meteroid listed is left out" in texts(html)


def test_unreadable_values_are_shown_escaped(listed):
    html = listed(
        job_json(ODD, created_at="<script>alert(1)</script>", completed_at='"><img src=x>'), contract=False
    )
    assert "<script>alert(1)</script>" not in html and '"><img src=x>' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)</script>" in texts(_row_of(html, ODD))


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(Reply(200, "<html>not json</html>"), id="not JSON"),
        pytest.param(Reply(200, [job_json()], contract=False), id="a list, not an object"),
        pytest.param(
            Reply(200, {"data": job_json(), "pagination_meta": {}}, contract=False), id="data not a list"
        ),
        pytest.param(Reply(200, {"data": [job_json()]}, contract=False), id="no pagination_meta"),
        pytest.param(
            Reply(200, {"pagination_meta": listing()["pagination_meta"]}, contract=False), id="no data"
        ),
    ],
)
def test_a_list_answer_of_the_wrong_shape_is_still_an_upstream_error(logged_in, meteroid, reply):
    meteroid.script(JOBS_PATH, reply)
    response = logged_in.get("/jobs/")
    assert response.status_code == 502
    assert "could not read" in response.content.decode()


# --- one job ----------------------------------------------------------------------------------------


def _job_page(logged_in, meteroid, detail: dict, *, contract: bool = True) -> str:
    meteroid.script(job_path(), Reply(200, detail, contract=contract))
    return page(logged_in.get(f"/jobs/{JOB}/"))


def _summary(html: str) -> str:
    start = html.index('<section id="job-summary"')
    return texts(html[start : html.index("</section>", start)])


@pytest.mark.parametrize(("changes", "warning"), WARNINGS)
def test_a_job_page_shows_an_odd_value_with_a_warning(logged_in, meteroid, changes, warning):
    html = _job_page(logged_in, meteroid, detail_json(**changes))
    assert warning in _summary(html)
    assert "acme-0" in html  # the failures are there as usual


def test_a_job_page_warns_of_an_odd_failure_count(logged_in, meteroid):
    html = _job_page(logged_in, meteroid, detail_json(failure_count=-3))
    assert "Meteroid reports −3 failure records" in _summary(html)


@pytest.mark.parametrize(("changes", "field"), UNREADABLE)
def test_a_job_page_shows_an_unreadable_field_as_such(logged_in, meteroid, changes, field):
    html = _job_page(logged_in, meteroid, detail_json(**changes), contract=False)
    summary = _summary(html)
    assert "unreadable" in summary and field in summary
    assert "acme-0" in html


@pytest.mark.parametrize("field", [*MISSING, "failure_count", "has_error_csv"])
def test_a_job_page_missing_a_required_field_shows_the_rest(logged_in, meteroid, field):
    html = _job_page(logged_in, meteroid, without(detail_json(), field), contract=False)
    summary = _summary(html)
    assert "unreadable" in summary and field in summary
    assert JOB in summary


def test_the_summary_fragment_carries_the_warnings(logged_in, meteroid):
    meteroid.script(job_path(), Reply(200, detail_json(processed_items=-5)))
    html = page(logged_in.get(f"/jobs/{JOB}/", **htmx("job-summary")))
    assert "Meteroid reports −5 processed rows" in texts(html)


@pytest.mark.parametrize("detail", [without(detail_json(), "id"), detail_json(id=5), [detail_json()], "x"])
def test_a_job_answer_without_its_id_or_not_an_object_is_an_upstream_error(logged_in, meteroid, detail):
    meteroid.script(job_path(), Reply(200, detail, contract=False))
    response = logged_in.get(f"/jobs/{JOB}/")
    assert response.status_code == 502


def test_a_job_seen_ended_with_an_unreadable_count_then_reopened_is_shown_as_retried(
    logged_in, meteroid, monkeypatch
):
    meteroid.contract = False  # a count that is not a number
    meteroid.details[JOB] = detail_json(status="FAILED", failed_items="many")
    page(logged_in.get(f"/jobs/{JOB}/"))
    meteroid.details[JOB] = detail_json(status="PROCESSING", completed_at=None, failed_items="many")
    later(monkeypatch, 3600)  # past the failed job's short lifetime
    html = page(logged_in.get(f"/jobs/{JOB}/"))
    assert "This job was retried. It had ended failed" in texts(html)
    assert page(logged_in.get("/jobs/"))


# --- failures -----------------------------------------------------------------------------------------


def _failures_with(meteroid, odd: dict[int, object], *, contract: bool = False) -> None:
    """The job's 120 failures with these records in their places, served page by page as
    they come (the world would sort them by a row number some of them lack)."""
    rows: list[object] = [failure_json(i) for i in range(120)]
    for index, record in odd.items():
        rows[index] = record

    def answer(query):
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        return Reply(
            200, {"data": rows[offset : offset + limit], "total_count": len(rows)}, contract=contract
        )

    meteroid.script(failures_path(), answer)


def _table(html: str) -> str:
    start = html.index('<section id="failures"')
    return html[start : html.index("</section>", start)]


def test_a_failure_without_a_reason_is_listed_as_such(logged_in, meteroid):
    _failures_with(meteroid, {1: without(failure_json(1), "reason"), 2: failure_json(2, reason=None)})
    table = _table(page(logged_in.get(f"/jobs/{JOB}/")))
    assert texts(table).count("no reason given") == 2
    assert 'id="row-2"' in table and 'id="row-3"' in table and "acme-3" in table


def test_a_failure_without_a_row_number_is_counted_apart(logged_in, meteroid):
    _failures_with(meteroid, {1: without(failure_json(1), "item_index"), 2: "not a record"})
    table = _table(page(logged_in.get(f"/jobs/{JOB}/")))
    assert "acme-0" in table and "acme-3" in table
    assert 'id="row-2"' not in table
    assert "2 failure records on this page have no row number" in texts(table)


def test_a_failure_with_an_odd_row_number_is_shown_with_a_warning(logged_in, meteroid):
    _failures_with(meteroid, {0: failure_json(0, item_index=INT32_MIN)}, contract=True)
    table = texts(_table(page(logged_in.get(f"/jobs/{JOB}/"))))
    assert "−2,147,483,647" in table
    assert "Meteroid gives row −2,147,483,647, which no file has" in table


def test_a_failure_with_unreadable_fields_shows_them_as_such(logged_in, meteroid):
    _failures_with(
        meteroid, {0: failure_json(0, chunk_id=7, item_identifier=["<img src=x>"], reason={"<b>a</b>": 1})}
    )
    html = _table(page(logged_in.get(f"/jobs/{JOB}/")))
    table = texts(html)
    assert "acme-1" in table
    assert "item_identifier is unreadable: Meteroid sent ['<img src=x>']" in table
    assert "reason is unreadable: Meteroid sent {'<b>a</b>': 1}" in table
    assert "chunk_id is unreadable: Meteroid sent 7" in table
    assert "no reason given" in table
    assert "<img src=x>" not in html and "<b>a</b>" not in html


def test_the_job_page_shows_unreadable_values_escaped(logged_in, meteroid):
    html = _job_page(
        logged_in,
        meteroid,
        detail_json(created_at="<script>alert(1)</script>", has_error_csv='"><i>'),
        contract=False,
    )
    assert "<script>alert(1)</script>" not in html and '"><i>' not in html
    summary = _summary(html)
    assert "created_at is unreadable: Meteroid sent '<script>alert(1)</script>'" in summary
    assert "has_error_csv is unreadable: Meteroid sent '\"><i>'" in summary


def _counted_below_zero(meteroid, total: int) -> None:
    def answer(query):
        offset, limit = int(query["offset"][0]), int(query["limit"][0])
        return Reply(200, {"data": meteroid.failures[JOB][offset : offset + limit], "total_count": total})

    meteroid.script(failures_path(), answer)


@pytest.mark.parametrize("total", [INT32_MIN, -(2**63), -1])
def test_a_failure_count_below_zero_shows_the_rows_sent_and_the_scan_reads_by_the_jobs_count(
    logged_in, meteroid, total
):
    _counted_below_zero(meteroid, total)
    html = page(logged_in.get(f"/jobs/{JOB}/"))
    table = texts(_table(html))
    assert "acme-0" in table and "acme-24" in table
    assert "failures in all, below zero" in table
    scan = wait_for_scan(JOB)
    assert scan.state == "done", scan.message
    assert scan.result.scanned == 120


def test_a_scan_with_no_count_to_read_by_says_so(logged_in, meteroid):
    _counted_below_zero(meteroid, -1)
    meteroid.contract = False  # a count that is not a number
    meteroid.details[JOB] = detail_json(failure_count="many")
    page(logged_in.get(f"/jobs/{JOB}/"))
    scan = wait_for_scan(JOB)
    assert scan.state == "failed" and "cannot tell how many to read" in scan.message


def test_one_unreadable_failure_does_not_fail_a_scan_and_is_reported(logged_in, meteroid):
    _failures_with(
        meteroid,
        {
            5: without(failure_json(5), "item_index"),
            6: failure_json(6, reason=None),
            7: failure_json(7, chunk_id=None),
        },
    )
    scan = wait_for_scan(JOB)
    assert scan.state == "done", scan.message
    assert scan.result.scanned == 119
    assert scan.result.records_apart == 1 and scan.result.records_unreadable == 2
    html = page(logged_in.get(f"/jobs/{JOB}/"))
    shown = texts(html)
    assert "1 failure record has no row number" in shown
    assert "2 failure records have fields the dashboard could not read" in shown
    # The groups, the filters and the exports go on with the rest.
    assert "no reason given" in texts(page(logged_in.get(f"/jobs/{JOB}/reasons/")))
    grouped = page(logged_in.get(f"/jobs/{JOB}/?q=acme-8"))
    assert "acme-8" in grouped
    found = _table(page(logged_in.get(f"/jobs/{JOB}/?q=acme-7")))
    assert 'id="row-8"' in found and "unreadable" in texts(found)  # its chunk id
    assert 'href=""' not in found
    rows = _csv(logged_in.get(f"/jobs/{JOB}/failures.csv"))
    assert len(rows) == 1 + 119
    assert [r[2] for r in rows if r[0] == "7"] == [""]  # the failure without a reason
    assert [r[4] for r in rows if r[0] == "8"] == [""]  # the one whose chunk is unreadable


def test_an_export_straight_from_meteroid_skips_a_record_without_a_row_number(logged_in, meteroid, settings):
    settings.SCAN_MAX_FAILURES = 50  # the scan holds only part: the CSV reads Meteroid itself
    _failures_with(meteroid, {0: failure_json(0, item_index=-4), 3: without(failure_json(3), "item_index")})
    wait_for_scan(JOB)
    rows = _csv(logged_in.get(f"/jobs/{JOB}/failures.csv"))
    assert len(rows) == 1 + 119
    assert rows[1][0] == "-3"  # the odd row number, as Meteroid gave it


def test_rows_to_fix_leave_out_a_row_number_no_file_has(logged_in, meteroid):
    meteroid.files["input"] = INPUT
    _failures_with(meteroid, {0: failure_json(0, item_index=-4, item_identifier=None)}, contract=True)
    wait_for_scan(JOB)
    response = logged_in.get(f"/jobs/{JOB}/rows-to-fix.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["alias", "name", "_error"]
    assert rows[1][0] == "cus_00001" and len(rows) == 1 + 119


@pytest.mark.parametrize("failed", [None, "many", -5])
def test_rows_to_fix_of_a_job_without_failure_records_say_so_whatever_its_failed_count(
    logged_in, meteroid, failed
):
    meteroid.contract = isinstance(failed, int)
    meteroid.details[JOB] = detail_json(failure_count=0, failed_items=failed)
    response = logged_in.get(f"/jobs/{JOB}/rows-to-fix.csv")
    assert response.status_code == 404
    assert "there are no rows to fix" in response.content.decode()
    assert "were lost" not in response.content.decode()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


# --- a stale copy beats an error page ---------------------------------------------------------------


def test_while_meteroid_is_down_the_list_is_its_last_copy_with_its_age(logged_in, meteroid, monkeypatch):
    meteroid.script(JOBS_PATH, Reply(200, listing(job_json(), job_json(ODD, processed_items=-5))))
    page(logged_in.get("/jobs/"))
    # Down behind its proxy. (A refused port would not show here: the gateway's pooled
    # connection to the scripted server outlives the listening socket.)
    meteroid.script(JOBS_PATH, Reply(503, "<html><h1>503 Service Unavailable</h1></html>"))
    later(monkeypatch, 90)  # past the list's lifetime (10 s), within the stale one
    html = page(logged_in.get("/jobs/"))
    banner = html[html.index('<div id="stale-banner"') :]
    banner = banner[: banner.index("</div>")]
    assert " hidden" not in banner
    assert "1 minute ago</time>" in banner
    assert "Meteroid is unavailable right now (HTTP 503)" in banner
    assert f'href="/jobs/{JOB}/"' in html
    assert "Meteroid reports −5 processed rows" in texts(html)


# --- no false alarms -----------------------------------------------------------------------------------


def test_no_demo_job_of_the_sandbox_carries_a_warning():
    """The sandbox speaks the contract: the warnings are for Meteroids that do not."""
    from dashboard.meteroid.gateway import get_gateway

    gateway = get_gateway()
    jobs, page_number = [], 0
    while True:
        listing = gateway.jobs(page=page_number, per_page=100)
        jobs += listing.jobs
        assert listing.left_out == ()
        if (page_number + 1) * 100 >= listing.pagination.total_items:
            break
        page_number += 1
    assert len(jobs) > 50
    for job in jobs:
        detail = gateway.job(job.id)
        assert (job.notes, detail.notes) == ((), ()), job.id


# --- every field, every odd value, every page -------------------------------------------------------

ODD_VALUES = [
    None,
    "",
    "x",
    "9999-12-31T23:59:59-01:00",
    -1,
    INT32_MIN,
    INT32_MAX,
    -(2**63),
    2**70,
    1.5,
    True,
    [],
    {},
    "<b>x</b>",
]
PAGES_OF_A_JOB = [
    ("/jobs/", {}),
    ("/jobs/", htmx("jobs-table")),
    (f"/jobs/{JOB}/", {}),
    (f"/jobs/{JOB}/", htmx("job-summary")),
    (f"/jobs/{JOB}/", htmx("failures")),
    (f"/jobs/{JOB}/?q=acme&row=3", {}),
    (f"/jobs/{JOB}/chunks/", htmx("scan-filters")),
    (f"/jobs/{JOB}/reasons/", {}),
    (f"/jobs/{JOB}/reasons.csv", {}),
    (f"/jobs/{JOB}/failures.csv", {}),
    (f"/jobs/{JOB}/rows-to-fix.csv", {}),
    (f"/jobs/{JOB}/files/errors/", {}),
]


INPUT = Reply(200, ("alias,name\r\n" + "".join(f"cus_{i:05d},A{i}\r\n" for i in range(150))).encode(), {})


@pytest.fixture
def files_do_not_wait(monkeypatch):
    """The files made from the scan answer at once rather than wait for one: in a test, no
    worker reads the job until the test runs the scan itself."""
    from dashboard.views import exports, reasons

    monkeypatch.setattr(reasons, "CSV_WAIT_SECONDS", 0.0)
    monkeypatch.setattr(exports, "CSV_WAIT_SECONDS", 0.0)


def _no_page_fails(client, *, scanned: bool = True) -> None:
    """Every page of the job answers without a server error. Before the scan (`scanned`
    False), a file made from it may say instead that it is not ready yet, and to look again."""
    for url, headers in PAGES_OF_A_JOB:
        response = client.get(url, **headers)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        if "rows-to-fix" in url and b"do not line up" in body:
            continue  # an identifier that is not in its row: the file is refused, rightly
        if not scanned and response.status_code == 503 and response.get("Retry-After"):
            assert b"This file is not ready yet" in body, (url, body[:300])
            continue
        assert response.status_code < 500, (url, headers, body[:300])
        assert b"Traceback" not in body


@pytest.mark.parametrize("field", [k for k in detail_json() if k != "id"])
def test_any_odd_value_of_a_job_field_leaves_every_page_standing(
    logged_in, meteroid, files_do_not_wait, field
):
    from tests.support import services

    meteroid.contract = False  # most of these values break it
    meteroid.files["input"] = INPUT
    for value in ODD_VALUES:
        services.clear_cache()
        meteroid.details[JOB] = detail_json(**{field: value})
        # Listed as it is described (the world would sort the list by a time it may lack).
        odd = {k: v for k, v in meteroid.details[JOB].items() if k in job_json()}
        meteroid.script(JOBS_PATH, Reply(200, listing(odd, job_json(ODD)), contract=False))
        _no_page_fails(logged_in, scanned=False)
        wait_for_scan(JOB)
        _no_page_fails(logged_in)


@pytest.mark.parametrize("field", list(failure_json(0)))
def test_any_odd_value_of_a_failure_field_leaves_every_page_standing(
    logged_in, meteroid, files_do_not_wait, field
):
    from tests.support import services

    meteroid.files["input"] = INPUT
    for value in ODD_VALUES:
        services.clear_cache()
        _failures_with(meteroid, {i: failure_json(i, **{field: value}) for i in (0, 1, 60, 119)})
        _no_page_fails(logged_in, scanned=False)
        wait_for_scan(JOB)
        _no_page_fails(logged_in)


def test_a_meteroid_answering_like_a_mock_of_the_spec_leaves_every_page_standing(
    logged_in, meteroid, files_do_not_wait
):
    """Every count at the most negative value its format allows, every failure the same record:
    what a mock of the spec answers with. Each page stands, and says what looks wrong."""
    # The mock keeps the published spec, not all the real server adds to it (times with
    # milliseconds, uuids for created_by).
    meteroid.contract = False
    meteroid.details[JOB] = detail_json(
        processed_items=INT32_MIN,
        failed_items=INT32_MIN,
        total_items=INT32_MIN,
        failure_count=-(2**63),
        created_by="string",
        input_file_name="string",
        created_at="2019-08-24T14:15:22Z",
        completed_at="2019-08-24T14:15:22Z",
    )
    record = failure_json(0, item_index=INT32_MIN, chunk_id="bjch_7n42DGM5Tflk9n8mt7Fhc7", reason="string")
    meteroid.script(failures_path(), Reply(200, {"data": [record] * 3, "total_count": -(2**63)}))
    meteroid.files["input"] = INPUT
    _no_page_fails(logged_in, scanned=False)
    scan = wait_for_scan(JOB)
    # The same record three times is one failure.
    assert scan.state == "done" and scan.result.records == 1, scan.message
    _no_page_fails(logged_in)
    html = page(logged_in.get(f"/jobs/{JOB}/"))
    assert "Meteroid reports −2,147,483,648 processed rows, below zero" in _summary(html)
    assert "Meteroid reports −9,223,372,036,854,775,808 failure records, below zero" in _summary(html)
    assert "Meteroid gives row −2,147,483,647, which no file has" in texts(_table(html))
