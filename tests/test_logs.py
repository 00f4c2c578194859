"""Request ids on responses and log records, structured lines of Meteroid calls, JSON logs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from dashboard.logs import JsonFormatter, new_request_id
from tests.support.django_process import environment, python
from tests.support.helpers import htmx, wait_for_scan
from tests.support.upstream import FAKE_KEY, FILE_TOKEN, JOB, JOBS_PATH, failures_path, job_path

pytestmark = pytest.mark.django_db


def _meteroid_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "dashboard.meteroid"]


def test_every_response_carries_a_request_id(logged_in):
    first = logged_in.get("/jobs/")
    second = logged_in.get("/jobs/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_callers_plain_request_id_is_kept(logged_in):
    response = logged_in.get("/jobs/", HTTP_X_REQUEST_ID="lb-7f3a9c21.0042")
    assert response["X-Request-ID"] == "lb-7f3a9c21.0042"


@pytest.mark.parametrize("offered", ["x", "a" * 65, "id\r\nSet-Cookie: a=b", "<script>", "id with spaces"])
def test_a_callers_odd_request_id_is_replaced(offered):
    assert new_request_id(offered) != offered
    assert len(new_request_id(offered)) == 32


def test_each_meteroid_call_is_logged_with_the_request_id_and_cache_use(logged_in, meteroid, caplog):
    caplog.set_level(logging.INFO)
    first = logged_in.get("/jobs/")
    second = logged_in.get("/jobs/")
    records = _meteroid_records(caplog)
    miss = [r for r in records if r.request_id == first["X-Request-ID"]]
    hit = [r for r in records if r.request_id == second["X-Request-ID"]]
    assert [(r.meteroid_path, r.meteroid_cache, r.meteroid_status) for r in miss] == [
        (JOBS_PATH, "miss", 200)
    ]
    assert miss[0].meteroid_method == "GET"
    assert miss[0].meteroid_retries == 0
    assert isinstance(miss[0].meteroid_duration_ms, int)
    assert [(r.meteroid_path, r.meteroid_cache) for r in hit] == [(JOBS_PATH, "hit")]


def test_retries_and_failures_are_in_the_line(logged_in, meteroid, caplog):
    from tests.support.upstream import Reply

    meteroid.script(job_path(), Reply(503, "<html>down</html>"))
    caplog.set_level(logging.INFO)
    response = logged_in.get(f"/jobs/{JOB}/")
    (record,) = [r for r in _meteroid_records(caplog) if r.meteroid_path == job_path()]
    assert record.meteroid_status == 503
    assert record.meteroid_retries == 2
    assert record.request_id == response["X-Request-ID"]


def test_a_scans_routine_calls_are_left_to_debug_and_its_task_sums_them_up_at_info(
    logged_in, meteroid, caplog
):
    from dashboard.index import tasks
    from dashboard.index.models import IndexedJob

    caplog.set_level(logging.DEBUG)
    response = logged_in.get(f"/jobs/{JOB}/")
    indexed = IndexedJob.objects.get(job_id=JOB)
    assert indexed.status == IndexedJob.Status.QUEUED  # the page only asked for the index
    caplog.clear()
    outcome = tasks.scan_job.call(
        base_url=indexed.base_url,
        key_fingerprint=indexed.key_fingerprint,
        job_id=JOB,
        state_key=indexed.state_key,
    )
    assert outcome == "done"
    scan_calls = [r for r in _meteroid_records(caplog) if r.meteroid_path == failures_path()]
    assert [(r.meteroid_cache, r.levelno) for r in scan_calls] == [("none", logging.DEBUG)] * 2
    assert response["X-Request-ID"] not in {getattr(r, "request_id", None) for r in scan_calls}
    (line,) = [r for r in caplog.records if r.name == "dashboard.index.tasks"]
    assert line.levelno == logging.INFO
    assert line.getMessage().startswith(f"index of {JOB}: done, 120 rows in ")


def test_the_pages_own_calls_are_logged_at_info_before_and_after_a_scan(logged_in, meteroid, caplog):
    caplog.set_level(logging.INFO)
    response = logged_in.get(f"/jobs/{JOB}/")
    wait_for_scan(JOB)  # in this thread: what the scan lowers must end with it
    after = logged_in.get(f"/jobs/{JOB}/", **htmx("failures"))
    for page in (response, after):
        records = [r for r in _meteroid_records(caplog) if r.request_id == page["X-Request-ID"]]
        assert records and all(r.levelno == logging.INFO for r in records)
    # The page's own calls are there; the scan's two pages are left to DEBUG.
    records = [r for r in _meteroid_records(caplog) if r.request_id == response["X-Request-ID"]]
    assert [(r.meteroid_path, r.meteroid_cache) for r in records] == [
        (job_path(), "miss"),
        (failures_path(), "miss"),
    ]
    assert not [r for r in _meteroid_records(caplog) if r.meteroid_cache == "none"]


def test_a_scans_retried_call_is_still_logged_at_info(logged_in, meteroid, caplog):
    from tests.support.upstream import Reply

    refused = []

    def second_page_fails_once(query):
        if query.get("offset") == ["100"] and not refused:
            refused.append(query)
            return Reply(503, "<html>busy</html>")
        return meteroid._failures(JOB, query)

    meteroid.script(failures_path(), second_page_fails_once)
    caplog.set_level(logging.INFO)
    logged_in.get(f"/jobs/{JOB}/")
    assert wait_for_scan(JOB).state == "done"
    scan_calls = [r for r in _meteroid_records(caplog) if r.meteroid_cache == "none"]
    assert [(r.meteroid_status, r.meteroid_retries) for r in scan_calls] == [(200, 1)]
    assert scan_calls[0].levelno == logging.INFO


def test_log_lines_hold_no_key_and_no_file_token(logged_in, meteroid, caplog):
    caplog.set_level(logging.DEBUG)
    logged_in.get("/jobs/")
    logged_in.get(f"/jobs/{JOB}/")
    b"".join(logged_in.get(f"/jobs/{JOB}/files/errors/").streaming_content)
    wait_for_scan(JOB)
    formatter = JsonFormatter()
    for record in caplog.records:
        line = formatter.format(record)
        assert FAKE_KEY not in line
        assert FILE_TOKEN not in line


def test_the_json_formatter_writes_one_object_per_line_with_the_extra_fields():
    record = logging.LogRecord("dashboard.meteroid", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.request_id = "abc12345"
    record.meteroid_status = 200
    record.meteroid_cache = "miss"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "GET /x"
    assert entry["level"] == "INFO"
    assert entry["request_id"] == "abc12345"
    assert entry["meteroid_status"] == 200 and entry["meteroid_cache"] == "miss"
    assert entry["time"].endswith("+00:00")


def test_the_json_formatter_keeps_an_exception_on_one_line():
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in entry["exception"]


def _run_logging(log_format: str) -> subprocess.CompletedProcess:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('dashboard.meteroid').warning('hello %s', 'there', extra={'meteroid_status': 503})"
    )
    return python(code, env=environment(LOG_FORMAT=log_format), setup=False)


def test_log_format_json_switches_the_console_to_json():
    result = _run_logging("json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert entry["message"] == "hello there"
    assert entry["meteroid_status"] == 503
    assert entry["request_id"] == "-"


def test_the_plain_format_names_the_request_id_and_a_wrong_format_stops_start_up():
    plain = _run_logging("plain")
    assert plain.returncode == 0, plain.stderr
    assert "WARNING dashboard.meteroid [-] hello there" in plain.stderr
    wrong = _run_logging("xml")
    assert wrong.returncode != 0
    assert "LOG_FORMAT" in wrong.stderr
