"""The sandbox's HTTP endpoints against the contract: the OpenAPI spec's schemas and the
behaviours of contract/API-NOTES.md. No database: the sandbox never touches it."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.test import Client

from dashboard.sandbox.api import stats, views
from dashboard.sandbox.world import data, files, rows
from dashboard.sandbox.world.data import SHOWCASE
from tests.support.contract import assert_valid
from tests.support.django_process import checked, environment, python

API = "/sandbox/api/v1/batch-jobs"


@pytest.fixture
def api(settings) -> Client:
    """A client that carries the sandbox key."""
    return Client(headers={"Authorization": f"Bearer {settings.SANDBOX_API_KEY}"})


@pytest.fixture
def stopped_clock(monkeypatch) -> float:
    """Live jobs hold still: the sandbox shows them at one instant."""
    now = time.time()
    monkeypatch.setattr(views, "_now", lambda: now)
    return now


def get_json(api: Client, path: str, params: dict | None = None, status: int = 200) -> Any:
    response = api.get(path, params or {})
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()


def detail(api: Client, role: str) -> dict[str, Any]:
    return get_json(api, f"{API}/{SHOWCASE[role]}")


def all_failures(api: Client, job_id: str, page: int, **params: str) -> list[dict]:
    failures: list[dict] = []
    while True:
        body = get_json(api, f"{API}/{job_id}/failures", {"limit": page, "offset": len(failures), **params})
        failures += body["data"]
        if not body["data"]:
            assert len(failures) == body["total_count"]
            return failures


# --- Shapes -----------------------------------------------------------------------------------


def test_the_job_list_matches_the_spec(api):
    for page in range(3):
        assert_valid(get_json(api, API, {"per_page": 100, "page": page}), "BatchJobListResponse")


def test_every_job_detail_matches_the_spec_with_the_newer_fields(api, stopped_clock):
    jobs = get_json(api, API, {"per_page": 100})["data"]
    for job in jobs:
        body = get_json(api, f"{API}/{job['id']}")
        assert_valid(body, "BatchJobDetailResponse")
        assert isinstance(body["has_output"], bool)
        assert {key: body[key] for key in job} == job


def test_failure_pages_match_the_spec(api):
    for role in ("customers", "events", "subscriptions", "migration", "hostile", "big"):
        body = get_json(api, f"{API}/{SHOWCASE[role]}/failures", {"limit": 100})
        assert body["data"]
        assert_valid(body, "BatchJobFailuresResponse")


def test_error_bodies_match_the_spec(api):
    assert_valid(get_json(Client(), API, status=401), "RestErrorResponse")
    assert_valid(get_json(api, f"{API}/bjob_0000000000000000000000", status=404), "RestErrorResponse")
    assert_valid(get_json(api, API, {"per_page": 0}, status=400), "RestErrorResponse")


# --- Auth, not found, validation ---------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer pv_sand_wrong", "Basic cHY6cHY=", "Bearer"])
def test_it_needs_the_key(header, settings):
    client = Client(headers={"Authorization": header} if header else {})
    for path in (API, f"{API}/{SHOWCASE['big']}", f"{API}/{SHOWCASE['big']}/failures", "/sandbox/_stats"):
        body = get_json(client, path, status=401)
        assert body["code"] == "UNAUTHORIZED"


def test_it_reads_the_key_at_request_time(api, settings):
    settings.SANDBOX_API_KEY = "pv_sand_rotated"
    assert get_json(api, API, status=401)["code"] == "UNAUTHORIZED"
    rotated = Client(headers={"Authorization": "Bearer pv_sand_rotated"})
    assert get_json(rotated, API)["data"]


@pytest.mark.parametrize(
    "job_id", ["bjob_0000000000000000000000", "bjob_nope!", "not-a-job", "bjch_7n42DGM5Tflk9n8mt7Fhc7"]
)
def test_unknown_or_malformed_jobs_are_not_found(api, job_id):
    for path in (f"{API}/{job_id}", f"{API}/{job_id}/failures"):
        assert get_json(api, path, status=404)["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("failures", {"limit": 0}),
        ("failures", {"limit": 101}),
        ("list", {"per_page": 0}),
        ("list", {"per_page": 101}),
    ],
)
def test_sizes_must_be_1_to_100(api, path, params):
    url = API if path == "list" else f"{API}/{SHOWCASE['customers']}/failures"
    assert get_json(api, url, params, status=400)["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("failures", "limit=abc"),
        ("failures", "limit="),
        ("failures", "offset=-1"),
        ("failures", "limit=99999999999"),
        ("failures", "chunk_id=nope"),
        ("failures", "chunk_id=bjob_7n42DGM5Tflk9n8mt7Fhc7"),
        ("list", "page=-1"),
        ("list", "per_page=ten"),
        ("list", "status=NOPE"),
        ("list", "status=FAILED&status=failed"),
        ("list", "job_type=CSV_IMPORT"),
        ("list", "job_type=EVENT_CSV_IMPORT&job_type=CUSTOMER_CSV_IMPORT"),
    ],
)
def test_a_query_that_does_not_parse_gets_a_plain_text_400(api, path, query):
    url = API if path == "list" else f"{API}/{SHOWCASE['customers']}/failures"
    response = api.get(f"{url}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("Failed to deserialize query string: ")


# --- The job list -----------------------------------------------------------------------------


def test_the_list_pages_newest_first(api, stopped_clock):
    meta = get_json(api, API, {"per_page": 10})["pagination_meta"]
    assert (meta["page"], meta["per_page"]) == (0, 10)
    assert meta["total_items"] >= 60
    assert meta["total_pages"] == -(-meta["total_items"] // 10)
    pages = get_json(api, API, {"per_page": 7})["pagination_meta"]["total_pages"]
    assert pages == -(-meta["total_items"] // 7)
    walked = []
    for page in range(pages):
        walked += get_json(api, API, {"page": page, "per_page": 7})["data"]
    assert len(walked) == meta["total_items"]
    everything = get_json(api, API, {"per_page": 100})["data"]
    assert walked == everything
    created = [job["created_at"] for job in everything]
    assert created == sorted(created, reverse=True)
    assert get_json(api, API, {"page": 1000})["data"] == []


def test_without_per_page_the_list_holds_25_jobs_but_says_10_as_meteroid_does(api, stopped_clock):
    body = get_json(api, API)
    meta = body["pagination_meta"]
    assert len(body["data"]) == 25
    assert (meta["page"], meta["per_page"]) == (0, 10)
    # The pages that the answer counts are of the 25 it holds, not of the 10 it says.
    assert meta["total_pages"] == -(-meta["total_items"] // 25)
    assert body["data"] == get_json(api, API, {"per_page": 25})["data"]
    second = get_json(api, API, {"page": 1})["data"]
    assert second == get_json(api, API, {"per_page": 100})["data"][25:50]


def test_the_list_filters_by_type_and_ors_statuses(api):
    body = get_json(api, f"{API}?job_type=CUSTOMER_CSV_IMPORT&status=FAILED&status=CANCELLED&per_page=100")
    assert body["data"]
    assert {job["job_type"] for job in body["data"]} == {"CUSTOMER_CSV_IMPORT"}
    assert {job["status"] for job in body["data"]} == {"FAILED", "CANCELLED"}
    assert body["pagination_meta"]["total_items"] == len(body["data"])
    exports = get_json(api, API, {"job_type": "TAX_REPORT_EXPORT"})["data"]
    assert exports and {job["input_file_name"] for job in exports} == {None}


def test_the_list_holds_every_type_and_status(api):
    jobs = get_json(api, API, {"per_page": 100})["data"]
    assert {job["job_type"] for job in jobs} == set(data.JOB_TYPES)
    assert {job["status"] for job in jobs} == set(data.STATUSES)


# --- Job detail -------------------------------------------------------------------------------


def test_a_detail_links_its_files_relative_to_the_base_url(api, settings):
    body = detail(api, "customers")
    job_id = body["id"]
    assert body["has_error_csv"] is True
    token = files.file_token("errors", job_id, api_key=settings.SANDBOX_API_KEY, seed=settings.SANDBOX_SEED)
    assert body["error_csv_url"] == f"/files/v1/batch-job/errors/{job_id}?token={token}"
    assert body["input_file_url"].startswith(f"/files/v1/batch-job/input/{job_id}?token=")
    assert (body["has_output"], body["output_url"]) == (False, None)
    clean = detail(api, "no_failures")
    assert (clean["failure_count"], clean["has_error_csv"], clean["error_csv_url"]) == (0, False, None)
    export = detail(api, "export")
    assert export["has_output"] is True
    assert export["output_url"].startswith(f"/files/v1/batch-job/output/{export['id']}?token=")
    assert export["input_file_url"] is None


def test_whole_failed_chunks_show_as_failed_items_beyond_the_failure_count(api):
    body = detail(api, "whole_chunks")
    assert body["failed_items"] > body["failure_count"] > 0


def test_the_big_job_has_200000_failures(api):
    body = detail(api, "big")
    assert body["job_type"] == "EVENT_CSV_IMPORT"
    assert body["failure_count"] >= 200_000
    tail = get_json(api, f"{API}/{body['id']}/failures", {"offset": body["failure_count"] - 5, "limit": 100})
    assert len(tail["data"]) == 5
    assert tail["total_count"] == body["failure_count"]


# --- Failures ---------------------------------------------------------------------------------


def test_failures_come_by_item_index_and_offset_pages_add_up(api):
    job_id = SHOWCASE["customers"]
    small = all_failures(api, job_id, page=9)
    assert [f["item_index"] for f in small] == sorted({f["item_index"] for f in small})
    assert small == all_failures(api, job_id, page=100)
    assert len(small) == detail(api, "customers")["failure_count"]
    assert get_json(api, f"{API}/{job_id}/failures")["data"] == small[:25]  # default limit


def test_a_page_is_the_failures_as_plain_json(api, settings):
    big = data.find_job(settings.SANDBOX_SEED, SHOWCASE["big"])
    response = api.get(f"{API}/{big.id}/failures", {"limit": 100, "offset": 1_000})
    page, total = data.failures_page(big, offset=1_000, limit=100)
    expected = {"data": [failure._asdict() for failure in page], "total_count": total}
    assert response.content == json.dumps(expected).encode()


def test_the_chunk_filter_keeps_that_chunks_rows_and_counts_them(api):
    job_id = SHOWCASE["subscriptions"]
    everything = all_failures(api, job_id, page=100)
    chunks = sorted({f["chunk_id"] for f in everything})
    assert len(chunks) >= 4
    for chunk in chunks[:5]:
        kept = all_failures(api, job_id, page=6, chunk_id=chunk)
        assert kept == [f for f in everything if f["chunk_id"] == chunk]
        k = kept[0]["item_index"] // 50
        assert all(k * 50 <= f["item_index"] < (k + 1) * 50 for f in kept)


def test_a_chunk_of_another_job_or_an_offset_past_the_end_gives_an_empty_page(api):
    other = get_json(api, f"{API}/{SHOWCASE['events']}/failures", {"limit": 1})["data"][0]["chunk_id"]
    body = get_json(api, f"{API}/{SHOWCASE['customers']}/failures", {"chunk_id": other})
    assert body == {"data": [], "total_count": 0}
    total = detail(api, "customers")["failure_count"]
    past = get_json(api, f"{API}/{SHOWCASE['customers']}/failures", {"offset": total + 10})
    assert past == {"data": [], "total_count": total}


def test_the_chunk_filter_on_an_export_job_gives_an_empty_page(api, settings):
    export = data.find_job(settings.SANDBOX_SEED, SHOWCASE["export"])
    body = get_json(api, f"{API}/{export.id}/failures", {"chunk_id": data.chunk_id(export, 0)})
    assert body == {"data": [], "total_count": 0}


def test_hostile_text_comes_through_as_it_is(api):
    failures = all_failures(api, SHOWCASE["hostile"], page=100)
    reasons = "\n".join(f["reason"] for f in failures)
    for value in rows.HOSTILE_VALUES:
        assert value in reasons
    assert "<script>alert(1)</script>" in {f["item_identifier"] for f in failures}
    assert "\u202e" in detail(api, "hostile")["input_file_name"]


def test_a_live_job_answers_like_any_other(api):
    live_id = data.live_job_ids(seed=data.DEFAULT_SEED)[0]
    body = get_json(api, f"{API}/{live_id}")
    assert_valid(body, "BatchJobDetailResponse")
    assert body["status"] in data.ACTIVE_STATUSES + data.TERMINAL_STATUSES
    assert get_json(api, API)["data"][0]["created_at"] >= body["created_at"]


def test_the_clock_offset_shows_live_jobs_at_another_instant(api, settings):
    # A live job that is running now has ended a second after its end (not later: a live job
    # with chunks failed as a whole may be retried minutes after it ends), and had not started
    # an hour ago (the list of an hour ago has other live jobs at its top).
    now = time.time()
    live_id = data.live_job_ids(now, seed=data.DEFAULT_SEED)[-1]
    assert get_json(api, f"{API}/{live_id}")["status"] in data.ACTIVE_STATUSES
    current = int(now * 1000) // data.LIVE_SLOT_MS
    (end_ms,) = {
        live.end_ms
        for live in (data._live(data.DEFAULT_SEED, slot) for slot in range(current, current - 3, -1))
        if live.plan.id == live_id
    }
    settings.SANDBOX_TIME_OFFSET_SECONDS = end_ms / 1000 - time.time() + 1
    later = get_json(api, f"{API}/{live_id}")
    assert later["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS")
    assert later["completed_at"] is not None
    settings.SANDBOX_TIME_OFFSET_SECONDS = -3600
    assert live_id not in {job["id"] for job in get_json(api, API, {"per_page": 100})["data"]}


# --- Files ------------------------------------------------------------------------------------


def download(api: Client, url: str) -> tuple[Any, list[list[str]]]:
    response = api.get(f"/sandbox{url}")
    assert response.status_code == 200
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(text, newline="")))


def test_the_error_csv_holds_the_failed_rows_and_their_reasons(api):
    body = detail(api, "customers")
    response, table = download(api, body["error_csv_url"])
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{body["id"]}-errors.csv"'
    assert table[0] == ["name", "alias", "billing_email", "currency", "country", "net_terms", "_error"]
    failures = all_failures(api, body["id"], page=100)
    # Less the rows that do not parse as CSV (too few fields): Meteroid leaves them out.
    readable = [f for f in failures if "found record with" not in f["reason"]]
    assert len(readable) < len(failures)
    assert [row[-1] for row in table[1:]] == [f["reason"] for f in readable]


def test_files_of_european_jobs_keep_their_delimiter_and_the_errors_csv_is_utf8(api):
    # The input as uploaded (`;`, or Windows-1252); the errors CSV with the input's
    # delimiter, in UTF-8, holding the rows of the whole failed chunks.
    for role, delimiter, encoding in (("semicolon", ";", "utf-8"), ("latin1", ",", "cp1252")):
        body = detail(api, role)
        response = api.get(f"/sandbox{body['input_file_url']}")
        raw = b"".join(response.streaming_content)
        text = raw.decode(encoding)
        assert raw == text.encode(encoding)
        header = text.split("\r\n", 1)[0]
        assert header == delimiter.join(rows.columns(body["job_type"]))
        response = api.get(f"/sandbox{body['error_csv_url']}")
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        errors = b"".join(response.streaming_content).decode("utf-8")
        table = list(csv.reader(io.StringIO(errors, newline=""), delimiter=delimiter))
        assert table[0] == [*rows.columns(body["job_type"]), "_error"]
        assert len(table) - 1 > body["failure_count"]  # rows of whole failed chunks too
        if encoding == "cp1252":
            assert "é" in text or "ü" in text
            assert any(any(ord(c) > 127 for c in row[0]) for row in table[1:])


def test_the_input_csv_holds_every_row(api):
    body = detail(api, "subscriptions")
    response, table = download(api, body["input_file_url"])
    assert response["Content-Disposition"] == 'attachment; filename="subscriptions-2026-11.csv"'
    assert table[0] == list(rows.columns(body["job_type"]))
    assert len(table) - 1 == body["total_items"]


def test_the_hostile_files_download_under_a_safe_name(api):
    body = detail(api, "hostile")
    response, _ = download(api, body["input_file_url"])
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"')
    assert not re.search(r"[<>\u202e]", disposition.removeprefix('attachment; filename="')[:-1])
    _, errors = download(api, body["error_csv_url"])
    assert any("line one\r\nline two" in cell for row in errors for cell in row)


def test_the_export_output_is_a_tax_report(api):
    body = detail(api, "export")
    response, table = download(api, body["output_url"])
    assert response["Content-Disposition"] == f'attachment; filename="tax-report-{body["id"]}.csv"'
    assert table[0][:2] == ["invoice_number", "invoice_date"]
    assert len(table) - 1 == body["total_items"]


def test_files_need_their_own_token(api, settings):
    body = detail(api, "customers")
    errors_url = body["error_csv_url"]
    path, _, token = errors_url.partition("?token=")
    client = Client()  # no bearer key: the token alone opens the file
    assert client.get(f"/sandbox{errors_url}").status_code == 200
    for url in (
        path,
        f"{path}?token=",
        f"{path}?token={token}x",
        f"{path.replace('errors', 'input')}?token={token}",
    ):
        response = client.get(f"/sandbox{url}")
        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"
    settings.SANDBOX_API_KEY = "pv_sand_rotated"
    assert client.get(f"/sandbox{errors_url}").status_code == 403


def test_a_file_the_job_does_not_have_is_not_found(api, settings):
    job_id = SHOWCASE["no_failures"]
    token = files.file_token("errors", job_id, api_key=settings.SANDBOX_API_KEY, seed=settings.SANDBOX_SEED)
    response = api.get(f"/sandbox/files/v1/batch-job/errors/{job_id}?token={token}")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"


# --- Knobs ------------------------------------------------------------------------------------


def test_latency_delays_every_request(api, settings):
    settings.SANDBOX_LATENCY_MS = 120
    started = time.perf_counter()
    get_json(api, f"{API}/{SHOWCASE['customers']}")
    assert time.perf_counter() - started >= 0.12


def test_latency_is_the_whole_answer_not_an_extra_after_its_work(api, settings, monkeypatch):
    # A remote Meteroid "at 120 ms" answers in 120 ms, its own work included: an answer that
    # takes 100 ms to make is not 220 ms late.
    settings.SANDBOX_LATENCY_MS = 120
    slow = 0.1
    monkeypatch.setattr("dashboard.sandbox.api.views._authorized", lambda request: time.sleep(slow) or True)
    started = time.perf_counter()
    get_json(api, f"{API}/{SHOWCASE['customers']}")
    took = time.perf_counter() - started
    assert 0.12 <= took < 0.12 + slow


def test_the_catalogue_ends_on_the_day_set_with_the_same_jobs(api, settings, stopped_clock):
    def catalogue() -> dict[str, str]:
        jobs = get_json(api, API, {"per_page": 100})["data"]
        # All but the live jobs, which start on the clock (within the last quarter of an hour).
        live = datetime.fromtimestamp(stopped_clock - 3600, UTC).isoformat()[:19]
        return {job["id"]: job["created_at"] for job in jobs if not live <= job["created_at"] < "2100"}

    pinned = catalogue()
    assert max(pinned.values()) < "2026-11-28" and min(pinned.values()) > "2026-10-30"
    settings.SANDBOX_CATALOGUE_ENDS = date(2131, 3, 1)  # (after the clock: no live job among them)
    moved = catalogue()
    assert moved.keys() == pinned.keys()
    assert max(moved.values()) < "2131-03-01" and min(moved.values()) > "2131-01-31"
    assert get_json(api, f"{API}/{SHOWCASE['big']}")["created_at"] == moved[SHOWCASE["big"]]


def test_it_rate_limits_with_retry_after(api, settings):
    settings.SANDBOX_RATE_429 = 1.0
    response = api.get(API)
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    assert response.json()["code"] == "TOO_MANY_REQUESTS"
    assert_valid(response.json(), "RestErrorResponse")


def test_it_fails_with_500(api, settings):
    settings.SANDBOX_RATE_500 = 1.0
    response = api.get(f"{API}/{SHOWCASE['customers']}/failures")
    assert response.status_code == 500
    assert response.json()["code"] == "INTERNAL_SERVER_ERROR"


def test_faults_come_after_the_key_check(settings):
    settings.SANDBOX_RATE_429 = 1.0
    settings.SANDBOX_RATE_500 = 1.0
    assert Client().get(API).status_code == 401


def test_faults_come_at_the_rate_asked(api, settings):
    settings.SANDBOX_RATE_500 = 0.5
    codes = [api.get(f"{API}/{SHOWCASE['no_failures']}").status_code for _ in range(60)]
    assert set(codes) == {200, 500}


# --- Retries on demand (the control endpoint, outside the API) -------------------------------

RETRY = "/sandbox/control/batch-jobs/{}/retry"


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The sandbox's clock, moved by the test: `clock[0] += 5`."""
    now = [time.time()]
    monkeypatch.setattr(views, "_now", lambda: now[0])
    return now


def test_a_retry_reopens_the_job_runs_its_failed_chunks_and_ends_it_again(api, clock):
    job_id = SHOWCASE["retryable"]
    before = detail(api, "retryable")
    assert before["status"] == "FAILED"
    assert before["failed_items"] == before["total_items"] > 0
    response = api.post(RETRY.format(job_id) + "?seconds=10")
    assert response.status_code == 200
    reopened = response.json()
    assert_valid(reopened, "BatchJobDetailResponse")
    assert reopened == detail(api, "retryable")
    assert (reopened["status"], reopened["completed_at"]) == ("PROCESSING", None)
    assert (reopened["has_error_csv"], reopened["error_csv_url"]) == (False, None)
    listed = {job["id"]: job for job in get_json(api, API, {"per_page": 100})["data"]}
    assert listed[job_id]["status"] == "PROCESSING"

    clock[0] += 5
    halfway = detail(api, "retryable")
    assert halfway["status"] == "PROCESSING"
    assert 0 < halfway["processed_items"] < halfway["total_items"]
    assert api.post(RETRY.format(job_id)).status_code == 409  # still running

    clock[0] += 6
    after = detail(api, "retryable")
    assert after["status"] in ("COMPLETED_WITH_ERRORS", "COMPLETED")
    assert after["completed_at"] > before["completed_at"]
    assert after["processed_items"] == after["total_items"]
    # Some chunks got through: fewer failed rows, and the records of their own bad rows.
    assert after["failed_items"] < before["failed_items"]
    failures = all_failures(api, job_id, page=100)
    assert len(failures) == after["failure_count"] > 0
    assert after["has_error_csv"] is True


def test_a_job_retried_twice_goes_on_from_where_the_first_retry_left_it(api, clock):
    job_id = SHOWCASE["retryable"]
    api.post(RETRY.format(job_id) + "?seconds=1")
    clock[0] += 2
    first = detail(api, "retryable")
    assert api.post(RETRY.format(job_id) + "?seconds=1").status_code == 200
    clock[0] += 2
    second = detail(api, "retryable")
    assert second["failed_items"] <= first["failed_items"]
    assert second["failure_count"] >= first["failure_count"]


def test_only_an_ended_job_with_failed_chunks_is_retried(api, clock):
    assert api.post(RETRY.format(SHOWCASE["no_failures"])).status_code == 409
    assert api.post(RETRY.format(SHOWCASE["processing"])).status_code == 409
    assert api.post(RETRY.format(SHOWCASE["customers"])).status_code == 409  # no chunk failed whole
    missing = api.post(RETRY.format("bjob_" + "0" * 22))
    assert (missing.status_code, missing.json()["code"]) == (404, "NOT_FOUND")
    assert api.post(RETRY.format(SHOWCASE["retryable"]) + "?seconds=0").status_code == 400
    assert api.post(RETRY.format(SHOWCASE["retryable"]) + "?seconds=x").status_code == 400
    assert api.get(RETRY.format(SHOWCASE["retryable"])).status_code == 405


def test_the_control_endpoint_needs_the_sandbox_key(api, clock):
    assert Client().post(RETRY.format(SHOWCASE["retryable"])).status_code == 401
    assert Client().post("/sandbox/control/reset").status_code == 401
    assert detail(api, "retryable")["status"] == "FAILED"
    api.post(RETRY.format(SHOWCASE["retryable"]))
    assert api.post("/sandbox/control/reset").status_code == 200
    assert detail(api, "retryable")["status"] == "FAILED"


def test_a_retry_asked_of_one_process_is_served_by_another_on_the_same_cache(tmp_path):
    # Web processes and the index worker each run a sandbox server: the retry asked of one is
    # the others' too, through the cache they share (here a file cache, in two processes).
    env = environment(CACHE_URL=f"filecache://{tmp_path / 'cache'}")
    job_id = SHOWCASE["retryable"]
    status = f"from dashboard.sandbox.api import views\nprint(views._find({job_id!r}).status)"
    assert checked(python(status, env=env)).strip() == "FAILED"
    checked(
        python(
            f"from dashboard.sandbox.api import control, views\ncontrol.ask({job_id!r}, int(views._now() * 1000), 60_000)",
            env=env,
        )
    )
    assert checked(python(status, env=env)).strip() == "PROCESSING"
    checked(python("from dashboard.sandbox.api import control\ncontrol.reset()", env=env))
    assert checked(python(status, env=env)).strip() == "FAILED"


# --- Request counts, session and database -----------------------------------------------------


def test_it_counts_requests_by_kind(api):
    assert api.post("/sandbox/_stats/reset").json() == {"jobs": 0, "job": 0, "failures": 0, "files": 0}
    api.get(API)
    api.get(f"{API}/{SHOWCASE['customers']}")
    api.get(f"{API}/{SHOWCASE['customers']}/failures")
    api.get(f"{API}/{SHOWCASE['customers']}/failures", {"offset": 25})
    download(api, detail(api, "customers")["error_csv_url"])
    assert get_json(api, "/sandbox/_stats") == {"jobs": 1, "job": 2, "failures": 2, "files": 1}
    assert stats.snapshot() == {"jobs": 1, "job": 2, "failures": 2, "files": 1}
    assert Client().post("/sandbox/_stats/reset").status_code == 401
    assert stats.snapshot()["job"] == 2


def test_it_leaves_sessions_alone(api):
    # No database access either: pytest-django would fail this test on the first query.
    for path in (API, f"{API}/{SHOWCASE['customers']}", "/sandbox/_stats"):
        response = api.get(path)
        assert response.status_code == 200
        assert not response.cookies
        assert "Cookie" not in response.get("Vary", "")
