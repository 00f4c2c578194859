"""MeteroidClient: parsing at the boundary, and every way a call can fail.

Answers and transport faults are scripted with `responses`; the retry policy (which lives in
urllib3, below what `responses` replaces) runs against a real HTTP server on a loopback port.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NameResolutionError

from dashboard.meteroid.client import MeteroidClient, retry_after_seconds
from dashboard.meteroid.errors import ErrorKind, MeteroidError

BASE = "https://meteroid.example/sandbox"
API_KEY = "pv_live_SECRET0KEY0do0not0leak"
TOKEN = "tok_SIGNED0SECRET0TOKEN"
JOB_ID = "bjob_7n42DGM5Tflk9n8mt7Fhc7"

JOB = {
    "id": JOB_ID,
    "job_type": "CUSTOMER_CSV_IMPORT",
    "status": "COMPLETED_WITH_ERRORS",
    "processed_items": 120,
    "failed_items": 7,
    "total_items": 120,
    "created_by": "6f1c8a52-0d0e-4a4e-9c55-3f1b1c2d3e4f",
    "created_at": "2026-03-25T10:00:00.000Z",
    "completed_at": "2026-03-25T10:01:30.500Z",
    "input_file_name": "customers.csv",
}
DETAIL = {
    **JOB,
    "failure_count": 5,
    "has_error_csv": True,
    "error_csv_url": f"/files/v1/batch-job/errors/{JOB_ID}?token={TOKEN}",
    "input_file_url": f"/files/v1/batch-job/input/{JOB_ID}?token={TOKEN}",
}
FAILURE = {
    "id": "0b7f6a0e-8f3e-4a51-bd3e-5a3c1c2d9e01",
    "chunk_id": "bjch_1a2b3c",
    "item_index": 4,
    "item_identifier": "acme-gmbh",
    "reason": "Customer with alias 'acme-gmbh' not found",
}


def make_client(base: str = BASE, **overrides) -> MeteroidClient:
    options = {"connect_timeout": 1.0, "read_timeout": 2.0, "max_retries": 2, "max_retry_wait": 5.0}
    options.update(overrides)
    return MeteroidClient(base, API_KEY, **options)


@pytest.fixture(autouse=True)
def _no_secrets_in_logs(caplog):
    """Whatever a test does, neither the key nor a file token reaches a log record."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert API_KEY not in text
        assert TOKEN not in text


def assert_safe(error: MeteroidError) -> None:
    assert API_KEY not in str(error)
    assert TOKEN not in str(error)
    assert error.__cause__ is None  # the chained requests error would carry the URL


# --- answers parsed at the boundary -------------------------------------------------------


@responses.activate
def test_it_lists_jobs_with_repeated_status_and_sends_the_headers():
    responses.get(
        f"{BASE}/api/v1/batch-jobs",
        json={
            "data": [JOB],
            "pagination_meta": {"page": 1, "per_page": 10, "total_items": 11, "total_pages": 2},
        },
    )
    jobs = make_client().list_jobs(
        job_type="CUSTOMER_CSV_IMPORT", statuses=["FAILED", "COMPLETED_WITH_ERRORS"], page=1, per_page=10
    )

    assert [job.id for job in jobs.jobs] == [JOB_ID]
    assert jobs.pagination.total_pages == 2
    request = responses.calls[0].request
    query = parse_qs(urlsplit(request.url).query)
    assert query == {
        "job_type": ["CUSTOMER_CSV_IMPORT"],
        "status": ["FAILED", "COMPLETED_WITH_ERRORS"],
        "page": ["1"],
        "per_page": ["10"],
    }
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("meteroid-failures-dashboard/")


@responses.activate
def test_it_leaves_out_filters_not_given():
    responses.get(
        f"{BASE}/api/v1/batch-jobs",
        json={"data": [], "pagination_meta": {"page": 0, "per_page": 10, "total_items": 0, "total_pages": 0}},
    )
    make_client().list_jobs()
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {"page": ["0"], "per_page": ["10"]}


@responses.activate
def test_it_ignores_unknown_fields_and_keeps_unknown_enum_values():
    future_job = {**JOB, "job_type": "LEDGER_EXPORT", "status": "ARCHIVED", "shiny_new_field": {"a": 1}}
    responses.get(
        f"{BASE}/api/v1/batch-jobs",
        json={
            "data": [future_job],
            "pagination_meta": {"page": 0, "per_page": 10, "total_items": 1, "total_pages": 1, "x": 1},
            "links": [],
        },
    )
    (job,) = make_client().list_jobs().jobs
    assert job.job_type == "LEDGER_EXPORT"
    assert job.type_label == "LEDGER_EXPORT"
    assert job.status == "ARCHIVED"
    assert job.is_active  # unknown statuses keep refreshing


@responses.activate
def test_it_reads_a_job_detail_of_the_older_shape():
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", json=DETAIL)
    job = make_client().get_job(JOB_ID)
    assert job.failure_count == 5
    assert job.has_error_csv
    assert job.error_csv_url == DETAIL["error_csv_url"]
    assert job.has_output is False
    assert job.output_url is None


@responses.activate
def test_it_reads_a_job_detail_of_the_newer_shape():
    url = f"/files/v1/batch-job/output/{JOB_ID}?token={TOKEN}"
    newer = {**DETAIL, "job_type": "TAX_REPORT_EXPORT", "has_output": True, "output_url": url}
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", json=newer)
    job = make_client().get_job(JOB_ID)
    assert job.has_output is True
    assert job.output_url == url
    assert job.type_label == "Tax report export"


@responses.activate
def test_it_quotes_the_job_id_into_one_path_segment():
    responses.get(f"{BASE}/api/v1/batch-jobs/a%2Fb%3Fc", json={**DETAIL, "id": "a/b?c"})
    make_client().get_job("a/b?c")
    assert urlsplit(responses.calls[0].request.url).path == "/sandbox/api/v1/batch-jobs/a%2Fb%3Fc"


@responses.activate
def test_an_answer_about_another_job_is_refused():
    responses.get(f"{BASE}/api/v1/batch-jobs/bjob_other", json=DETAIL)
    with pytest.raises(MeteroidError) as caught:
        make_client().get_job("bjob_other")
    assert caught.value.kind is ErrorKind.UPSTREAM
    assert "another job" in caught.value.message


@pytest.mark.parametrize("job_id", ["", ".", ".."])
@responses.activate
def test_it_refuses_ids_that_would_address_another_endpoint(job_id):
    with pytest.raises(MeteroidError) as caught:
        make_client().get_job(job_id)
    assert caught.value.kind is ErrorKind.NOT_FOUND
    assert len(responses.calls) == 0


@responses.activate
def test_it_lists_failures_with_chunk_filter():
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}/failures",
        json={"data": [FAILURE, {**FAILURE, "item_identifier": None, "extra": True}], "total_count": 42},
    )
    page = make_client().list_failures(JOB_ID, limit=100, offset=200, chunk_id="bjch_1a2b3c")
    assert page.total_count == 42
    assert page.failures[0].row_number == 5
    assert page.failures[1].item_identifier is None
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {"limit": ["100"], "offset": ["200"], "chunk_id": ["bjch_1a2b3c"]}


@responses.activate
def test_it_reads_a_page_of_failures_into_columns():
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}/failures",
        json={"data": [FAILURE, {**FAILURE, "item_index": 9, "item_identifier": None}], "total_count": 42},
    )
    page = make_client().list_failure_columns(JOB_ID, limit=100, offset=200)
    assert page.total_count == 42 and len(page) == 2
    assert page.item_indices == [4, 9]
    assert page.chunk_ids == ["bjch_1a2b3c", "bjch_1a2b3c"]
    assert page.identifiers == ["acme-gmbh", None]
    assert page.reasons == [FAILURE["reason"]] * 2
    query = parse_qs(urlsplit(responses.calls[0].request.url).query)
    assert query == {"limit": ["100"], "offset": ["200"]}


@responses.activate
def test_it_logs_one_line_per_call_without_the_query(caplog):
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}/failures", json={"data": [], "total_count": 0})
    make_client().list_failures(JOB_ID)
    (record,) = [r for r in caplog.records if r.name == "dashboard.meteroid"]
    assert record.levelno == logging.INFO
    assert record.meteroid_method == "GET"
    assert record.meteroid_path == f"/sandbox/api/v1/batch-jobs/{JOB_ID}/failures"
    assert record.meteroid_status == 200
    assert record.meteroid_retries == 0
    assert isinstance(record.meteroid_duration_ms, int)
    assert "?" not in record.getMessage()


# --- every failure becomes one MeteroidError ------------------------------------------------


def call_fails(**kw) -> MeteroidError:
    with pytest.raises(MeteroidError) as caught:
        make_client(**kw).get_job(JOB_ID)
    assert_safe(caught.value)
    return caught.value


@responses.activate
def test_a_connect_timeout_is_unavailable():
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body=requests.ConnectTimeout("timed out"))
    error = call_fails()
    assert error.kind is ErrorKind.UNAVAILABLE
    assert error.message.startswith("Meteroid could not be reached")
    assert "1 s" in error.message
    assert error.retryable


@responses.activate
def test_a_read_timeout_is_unavailable():
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body=requests.ReadTimeout("read timed out"))
    error = call_fails()
    assert error.kind is ErrorKind.UNAVAILABLE
    assert error.message.startswith("Meteroid did not answer within 2 s")


@responses.activate
def test_an_unknown_host_is_unavailable():
    cause = NameResolutionError("meteroid.example", None, socket.gaierror("Name or service not known"))
    wrapped = requests.ConnectionError(MaxRetryError(None, "/x", cause))
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body=wrapped)
    error = call_fails()
    assert error.kind is ErrorKind.UNAVAILABLE
    assert "could not be resolved" in error.message
    assert "METEROID_BASE_URL" in error.message


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, ErrorKind.UNAUTHORIZED, "METEROID_API_KEY"),
        (403, ErrorKind.FORBIDDEN, "refused access"),
        (404, ErrorKind.NOT_FOUND, "No such batch job"),
        (500, ErrorKind.UPSTREAM, "internal error"),
        (418, ErrorKind.UPSTREAM, "unexpected HTTP 418"),
        (301, ErrorKind.UPSTREAM, "unexpected HTTP 301"),
    ],
)
@responses.activate
def test_json_error_statuses_map_to_kinds(status, kind, words):
    body = {"code": "X", "message": f"echo {API_KEY}"}
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", json=body, status=status)
    error = call_fails()
    assert error.kind is kind
    assert error.status == status
    assert words in error.message


@responses.activate
def test_a_plain_text_400_gives_meteroids_reason():
    text = "Failed to deserialize query string: unknown variant `X\x1b[31m`,\n expected one of `A`"
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body=text, status=400, content_type="text/plain")
    error = call_fails()
    assert error.kind is ErrorKind.BAD_REQUEST
    assert error.message.startswith("Meteroid refused the request: Failed to deserialize query string")
    assert "\x1b" not in error.message
    assert "\n" not in error.message
    assert not error.retryable


@responses.activate
def test_a_json_400_gives_its_message_truncated_and_without_the_key():
    message = f"bad limit for {API_KEY} " + "x" * 1000
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}", json={"code": "BAD_REQUEST", "message": message}, status=400
    )
    error = call_fails()
    assert error.kind is ErrorKind.BAD_REQUEST
    assert "bad limit for [key]" in error.message
    assert len(error.message) < 350


@responses.activate
def test_a_429_with_retry_after_in_seconds_is_rate_limited():
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}",
        json={"code": "TOO_MANY_REQUESTS", "message": "slow down"},
        status=429,
        headers={"Retry-After": "30"},
    )
    error = call_fails()
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 30
    assert error.message == "Meteroid is rate-limiting requests: try again in 30 s."
    # Over the wait we allow: given back at once, not retried.
    assert len(responses.calls) == 1


@responses.activate
def test_a_429_with_retry_after_as_a_date_is_rate_limited():
    when = datetime.now(UTC) + timedelta(seconds=120)
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}",
        body="",
        status=429,
        headers={"Retry-After": format_datetime(when, usegmt=True)},
    )
    error = call_fails()
    assert error.kind is ErrorKind.RATE_LIMITED
    assert 100 < error.retry_after <= 120
    assert "try again in 1" in error.message


@responses.activate
def test_a_429_without_retry_after_is_rate_limited_after_the_retries():
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body="", status=429)
    error = call_fails()
    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after is None
    assert error.message == "Meteroid is rate-limiting requests: try again in a moment."
    assert len(responses.calls) == 3  # the first try and max_retries=2 retries


@pytest.mark.parametrize("status", [502, 503, 504])
@responses.activate
def test_a_proxys_html_error_is_unavailable(status):
    html = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body=html, status=status, content_type="text/html")
    error = call_fails()
    assert error.kind is ErrorKind.UNAVAILABLE
    assert error.status == status
    assert "<" not in error.message


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "<html>captive portal</html>",
        json.dumps([DETAIL]),  # wrong shape
        json.dumps({k: v for k, v in DETAIL.items() if k != "id"}),  # no id: not this job's record
        json.dumps({**DETAIL, "id": 7}),
        "[" * 100_000,  # nested beyond the parser's depth
        b"\xff\xfe\x00garbage",
    ],
)
@responses.activate
def test_an_answer_that_cannot_be_read_is_upstream(body):
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", body=body, content_type="application/json")
    error = call_fails()
    assert error.kind is ErrorKind.UPSTREAM
    assert error.message.startswith("Meteroid sent an answer the dashboard could not read")


@responses.activate
def test_a_failure_without_a_row_number_is_counted_apart_from_its_page():
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}/failures",
        json={"data": [FAILURE, {**FAILURE, "item_index": None}], "total_count": 2},
    )
    page = make_client().list_failures(JOB_ID)
    assert len(page.failures) == 1 and page.apart == 1


@responses.activate
def test_a_job_with_odd_or_unreadable_fields_is_read_field_by_field():
    body = {
        **DETAIL,
        "processed_items": "120",
        "failed_items": -1,
        "created_at": "yesterday",
        "has_error_csv": "yes",
    }
    del body["failure_count"]
    responses.get(f"{BASE}/api/v1/batch-jobs/{JOB_ID}", json=body)
    detail = make_client().get_job(JOB_ID)
    assert detail.failed_items == -1
    assert detail.unreadable_fields == {"processed_items", "created_at", "has_error_csv", "failure_count"}
    assert detail.processed_items is None and detail.created_at is None and detail.failure_count is None
    assert any("−1 failed rows" in warning for warning in detail.warnings)


def test_retry_after_parses_seconds_dates_and_garbage():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past


def test_worst_case_time_is_bounded():
    client = make_client(connect_timeout=3, read_timeout=10, max_retries=3, max_retry_wait=5)
    assert client.worst_case_seconds == 4 * 13 + 3 * 5


# --- files ---------------------------------------------------------------------------------


@responses.activate
def test_open_file_joins_the_path_to_a_base_with_a_path_and_streams():
    body = b"name,email,_error\n" + b"acme,x@y,bad\n" * 10_000
    responses.get(
        f"{BASE}/files/v1/batch-job/errors/{JOB_ID}",
        body=body,
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="errors-bjob.csv"'},
        auto_calculate_content_length=True,
    )
    with make_client().open_file(DETAIL["error_csv_url"]) as download:
        assert download.content_type == "text/csv"
        assert download.filename == "errors-bjob.csv"
        assert download.length == len(body)
        assert b"".join(download.iter_chunks(4096)) == body
    request = responses.calls[0].request
    assert request.url == f"{BASE}/files/v1/batch-job/errors/{JOB_ID}?token={TOKEN}"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"


@responses.activate
def test_open_file_accepts_an_absolute_url_on_the_same_host():
    responses.get("https://meteroid.example:443/files/x", body=b"abc")
    with make_client().open_file("https://METEROID.example:443/files/x?token=1") as download:
        assert download.filename == "download"
        assert list(download.iter_chunks()) == [b"abc"]


@responses.activate
def test_open_file_follows_a_redirect_without_the_key():
    responses.get(f"{BASE}/files/x", status=302, headers={"Location": "https://store.example/blob?sig=1"})
    responses.get("https://store.example/blob", body=b"data")
    with make_client().open_file("/files/x") as download:
        assert b"".join(download.iter_chunks()) == b"data"
    first, second = (call.request for call in responses.calls)
    assert first.headers["Authorization"] == f"Bearer {API_KEY}"
    assert "Authorization" not in second.headers


@responses.activate
def test_api_calls_do_not_follow_redirects():
    responses.get(
        f"{BASE}/api/v1/batch-jobs/{JOB_ID}", status=302, headers={"Location": "https://x.example/"}
    )
    error = call_fails()
    assert error.kind is ErrorKind.UPSTREAM
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/files/x?token=1",
        "http://meteroid.example/files/x",  # other scheme
        "https://meteroid.example:8443/files/x",  # other port
        "//evil.example/files/x",
        "https://meteroid.example:99999/x",
        "ftp://meteroid.example/files/x",
    ],
)
@responses.activate
def test_open_file_refuses_other_hosts(url):
    with pytest.raises(MeteroidError) as caught:
        make_client().open_file(url)
    assert caught.value.kind is ErrorKind.UPSTREAM
    assert len(responses.calls) == 0


@responses.activate
def test_open_file_reads_rfc_6266_names_and_strips_paths():
    responses.get(
        f"{BASE}/files/a",
        body=b"x",
        headers={"Content-Disposition": "attachment; filename*=UTF-8''..%2F..%2Fr%C3%A9sum%C3%A9.csv"},
    )
    responses.get(f"{BASE}/files/b", body=b"x", headers={"Content-Encoding": "gzip", "Content-Length": "9"})
    client = make_client()
    with client.open_file("/files/a") as download:
        assert download.filename == "résumé.csv"
    with client.open_file("files/b", default_filename="input.csv") as download:
        assert download.filename == "input.csv"
        assert download.length is None  # decoded size is unknown


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, ErrorKind.NOT_FOUND), (401, ErrorKind.UNAUTHORIZED), (503, ErrorKind.UNAVAILABLE)],
)
@responses.activate
def test_open_file_maps_errors_like_any_call(status, kind):
    responses.get(f"{BASE}/files/v1/batch-job/errors/{JOB_ID}", body="<html>nope</html>", status=status)
    with pytest.raises(MeteroidError) as caught:
        make_client().open_file(DETAIL["error_csv_url"])
    assert caught.value.kind is kind
    assert_safe(caught.value)


# --- the retry policy, against a real server ----------------------------------------------


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Server:
    base_url: str
    answers: deque[Answer]
    paths: list[str]


@pytest.fixture
def server() -> Iterator[Server]:
    """A loopback HTTP server answering from a script; the last answer repeats."""
    answers: deque[Answer] = deque()
    paths: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            with lock:
                paths.append(self.path)
                answer = answers.popleft() if len(answers) > 1 else answers[0]
            time.sleep(answer.delay)
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args):
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the client hung up on a slow answer, as the test meant it to

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}/sandbox", answers, paths)
    finally:
        httpd.shutdown()
        httpd.server_close()


DETAIL_BYTES = json.dumps(DETAIL).encode()


def test_it_retries_a_proxys_503_until_it_succeeds(server, caplog):
    server.answers.extend([Answer(503, b"<html>down</html>"), Answer(503, b"<html>down</html>")])
    server.answers.append(Answer(200, DETAIL_BYTES))
    job = make_client(server.base_url, max_retries=3).get_job(JOB_ID)
    assert job.id == JOB_ID
    assert server.paths == [f"/sandbox/api/v1/batch-jobs/{JOB_ID}"] * 3
    (record,) = [r for r in caplog.records if r.name == "dashboard.meteroid"]
    assert record.meteroid_retries == 2
    assert record.meteroid_status == 200


def test_api_calls_go_through_the_proxy_the_environment_names(server, monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url.removesuffix("/sandbox"))
    server.answers.append(Answer(200, DETAIL_BYTES))
    job = make_client("http://meteroid.example/sandbox").get_job(JOB_ID)
    assert job.id == JOB_ID
    assert server.paths == [f"http://meteroid.example/sandbox/api/v1/batch-jobs/{JOB_ID}"]


def test_retries_are_bounded(server, caplog):
    server.answers.append(Answer(502, b"<html>bad gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(MeteroidError) as caught:
        make_client(server.base_url, max_retries=2).get_job(JOB_ID)
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert len(server.paths) == 3
    (record,) = [r for r in caplog.records if r.name == "dashboard.meteroid"]
    assert record.meteroid_retries == 2


def test_no_retries_when_none_are_allowed(server):
    server.answers.append(Answer(503, b""))
    with pytest.raises(MeteroidError):
        make_client(server.base_url, max_retries=0).get_job(JOB_ID)
    assert len(server.paths) == 1


def test_a_500_is_not_retried(server):
    server.answers.append(Answer(500, b'{"code":"INTERNAL_SERVER_ERROR","message":"boom"}'))
    with pytest.raises(MeteroidError) as caught:
        make_client(server.base_url).get_job(JOB_ID)
    assert caught.value.kind is ErrorKind.UPSTREAM
    assert len(server.paths) == 1


def test_a_short_retry_after_is_waited_for_then_retried(server):
    server.answers.append(Answer(429, b"", {"Retry-After": "1"}))
    server.answers.append(Answer(200, DETAIL_BYTES))
    started = time.monotonic()
    assert make_client(server.base_url).get_job(JOB_ID).id == JOB_ID
    assert time.monotonic() - started >= 0.9
    assert len(server.paths) == 2


def test_a_retry_after_beyond_the_cap_comes_back_at_once(server):
    server.answers.append(Answer(429, b"", {"Retry-After": "3600"}))
    started = time.monotonic()
    with pytest.raises(MeteroidError) as caught:
        make_client(server.base_url, max_retries=3, max_retry_wait=5).get_job(JOB_ID)
    assert time.monotonic() - started < 1
    assert len(server.paths) == 1
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 3600
    assert caught.value.message == "Meteroid is rate-limiting requests: try again in 3600 s."


def test_a_garbled_retry_after_falls_back_on_backoff(server):
    server.answers.append(Answer(503, b"", {"Retry-After": "whenever"}))
    server.answers.append(Answer(200, DETAIL_BYTES))
    assert make_client(server.base_url).get_job(JOB_ID).id == JOB_ID


def test_a_read_timeout_is_retried_then_unavailable(server):
    server.answers.append(Answer(200, DETAIL_BYTES, delay=0.6))
    with pytest.raises(MeteroidError) as caught:
        make_client(server.base_url, read_timeout=0.2, max_retries=1).get_job(JOB_ID)
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.message.startswith("Meteroid did not answer within 0.2 s")
    assert len(server.paths) == 2


def test_a_refused_connection_is_unavailable():
    with socket.socket() as sock:  # a port that was free a moment ago, and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(MeteroidError) as caught:
        make_client(f"http://127.0.0.1:{port}", max_retries=1).list_jobs()
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert "refused the connection" in caught.value.message
    assert_safe(caught.value)


def test_file_tokens_stay_out_of_retry_logs(server, caplog):
    server.answers.append(Answer(503, b""))
    server.answers.append(Answer(200, b"a,b\n", {"Content-Type": "text/csv"}))
    with make_client(server.base_url).open_file(DETAIL["error_csv_url"]) as download:
        assert b"".join(download.iter_chunks()) == b"a,b\n"
    assert server.paths[-1] == f"/sandbox/files/v1/batch-job/errors/{JOB_ID}?token={TOKEN}"
    # _no_secrets_in_logs checks every record, urllib3's included.
    assert any(r.name.startswith("urllib3") for r in caplog.records)


def test_one_client_serves_many_threads(server):
    server.answers.append(Answer(200, DETAIL_BYTES, delay=0.01))
    client = make_client(server.base_url)
    with ThreadPoolExecutor(max_workers=12) as pool:
        jobs = list(pool.map(lambda _: client.get_job(JOB_ID), range(48)))
    assert {job.id for job in jobs} == {JOB_ID}
    assert len(server.paths) == 48
