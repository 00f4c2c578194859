"""The scripted Meteroid keeps the contract: its world is what Meteroid would answer (paging,
filters, errors included), and an answer scripted off the contract is caught, not served
quietly to a test that would then prove nothing."""

from __future__ import annotations

import pytest
import requests

from tests.support.contract import assert_valid
from tests.support.upstream import (
    ACTIVE_JOB,
    CHUNKS,
    FAKE_KEY,
    JOB,
    JOBS_PATH,
    FakeMeteroid,
    Reply,
    detail_json,
    failures_path,
    job_path,
)

AUTH = {"Authorization": f"Bearer {FAKE_KEY}"}


@pytest.fixture
def fake():
    server = FakeMeteroid()
    yield server
    server.close()


def _get(fake: FakeMeteroid, path: str, params=None, headers=AUTH) -> requests.Response:
    return requests.get(fake.base_url + path, params=params, headers=headers, timeout=5)


def test_the_world_answers_every_endpoint_within_the_contract(fake):
    assert_valid(_get(fake, JOBS_PATH, {"per_page": 100}).json(), "BatchJobListResponse")
    for job_id in (JOB, ACTIVE_JOB):
        assert_valid(_get(fake, job_path(job_id)).json(), "BatchJobDetailResponse")
        assert_valid(_get(fake, failures_path(job_id), {"limit": 100}).json(), "BatchJobFailuresResponse")
    assert fake.violations == []


def test_the_job_list_honours_filters_and_paging(fake):
    def ids(**params):
        body = _get(fake, JOBS_PATH, params).json()
        return [job["id"] for job in body["data"]], body["pagination_meta"]

    assert ids(per_page=1) == ([JOB], {"page": 0, "per_page": 1, "total_items": 2, "total_pages": 2})
    assert ids(per_page=1, page=1)[0] == [ACTIVE_JOB]
    assert ids(per_page=1, page=2)[0] == []
    assert ids(per_page=10, status="PROCESSING")[0] == [ACTIVE_JOB]
    assert ids(per_page=10, status=["PROCESSING", "COMPLETED_WITH_ERRORS"])[0] == [JOB, ACTIVE_JOB]
    assert ids(per_page=10, job_type="EVENT_CSV_IMPORT")[0] == []
    # Meteroid's quirk: without per_page, 25 jobs, but the answer says 10.
    assert ids()[1]["per_page"] == 10


def test_failures_honour_limit_offset_and_chunk(fake):
    def page(**params):
        return _get(fake, failures_path(), params).json()

    first = page(limit=10, offset=45)
    assert [row["item_index"] for row in first["data"]] == list(range(45, 55))
    assert first["total_count"] == 120
    assert len(page()["data"]) == 25  # the default limit
    chunk = page(chunk_id=CHUNKS[1], limit=100)
    assert chunk["total_count"] == 50 and {row["chunk_id"] for row in chunk["data"]} == {CHUNKS[1]}
    assert page(chunk_id=CHUNKS[2], offset=15, limit=100)["data"][0]["item_index"] == 115


@pytest.mark.parametrize(
    ("path", "params", "status", "plain"),
    [
        (JOBS_PATH, {"per_page": "0"}, 400, False),
        (JOBS_PATH, {"per_page": "101"}, 400, False),
        (JOBS_PATH, {"page": "-1"}, 400, True),
        (JOBS_PATH, {"status": "DONE"}, 400, True),
        (failures_path(), {"limit": "abc"}, 400, True),
        (failures_path(), {"limit": "0"}, 400, False),
        (failures_path(), {"chunk_id": "x"}, 400, True),
        (failures_path("bjob_NoSuchJob"), {}, 404, False),
        (job_path("bjob_NoSuchJob"), {}, 404, False),
    ],
)
def test_queries_are_read_as_meteroid_reads_them(fake, path, params, status, plain):
    response = _get(fake, path, params)
    assert response.status_code == status
    if plain:
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text.startswith("Failed to deserialize query string: ")
    else:
        assert_valid(response.json(), "RestErrorResponse")
    assert fake.violations == []


def test_the_api_wants_the_key_and_file_links_do_not(fake):
    response = _get(fake, JOBS_PATH, headers={})
    assert response.status_code == 401
    assert_valid(response.json(), "RestErrorResponse")
    link = _get(fake, job_path()).json()["error_csv_url"]
    assert _get(fake, link, headers={}).status_code == 200


@pytest.mark.parametrize(
    ("path", "reply"),
    [
        (job_path(), Reply(200, detail_json(created_by="ops@example.com"))),
        (job_path(), Reply(200, detail_json(failed_items=2**31))),
        (job_path(), Reply(200, {k: v for k, v in detail_json().items() if k != "has_error_csv"})),
        (job_path(), Reply(200, detail_json(extra="field"))),
        (
            failures_path(),
            Reply(200, {"data": [{"id": "x", "chunk_id": "bjch_FakeChunk!", "item_index": 0}]}),
        ),
        (JOBS_PATH, Reply(200, [])),
        (JOBS_PATH, Reply(403, {"code": "FORBIDDEN", "message": "no"})),
        (JOBS_PATH, Reply(500, {"error": "boom"})),
    ],
    ids=["creator", "int32", "missing", "extra", "failure", "shape", "status", "error body"],
)
def test_an_answer_scripted_off_the_contract_is_caught(fake, path, reply):
    fake.script(path, reply)
    _get(fake, path)
    assert len(fake.violations) >= 1, reply
    # Whoever holds the server fails when closing it: the `meteroid` fixture, or any other.
    with pytest.raises(AssertionError, match="broke the contract"):
        fake.close()


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, detail_json(created_by="ops@example.com"), contract=False),
        Reply(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
        Reply(200, b'{"data": ['),
    ],
    ids=["marked", "proxy page", "raw bytes"],
)
def test_a_fault_scripted_on_purpose_is_served_as_it_is(fake, reply):
    fake.script(job_path(), reply)
    assert _get(fake, job_path()).status_code == reply.status
    assert fake.violations == []


def test_odd_values_the_spec_allows_pass(fake):
    # The spec sets no minimum on counts or on item_index (int32): Prism answers the least.
    least = -(2**31)
    fake.details[JOB] = detail_json(processed_items=least, failed_items=least, total_items=least)
    fake.failures[JOB][0]["item_index"] = least
    _get(fake, job_path())
    _get(fake, failures_path())
    assert fake.violations == []
