"""The gateway: caching over a client, and the process-wide instance built from settings."""

from __future__ import annotations

import sys
import types
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import override_settings

from dashboard.meteroid import cache, freshness
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.gateway import Gateway, get_gateway, reset_gateway
from dashboard.meteroid.records import JobDetail
from tests.support.fake_client import JOB_ID, FakeClient
from tests.support.fake_client import job_detail as detail
from tests.support.helpers import RecordingCache


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def gateway(client) -> Gateway:
    return Gateway(client)


def test_a_second_call_is_a_hit(gateway, client):
    first = gateway.jobs(statuses=["FAILED"], page=2)
    second = gateway.jobs(statuses=["FAILED"], page=2)
    assert first == second
    assert len(client.calls) == 1
    assert (gateway.calls, gateway.hits) == (1, 1)
    assert gateway.stats() == {"calls": 1, "hits": 1, "stale": 0}


def test_other_arguments_are_other_entries(gateway, client):
    gateway.jobs(page=0)
    gateway.jobs(page=1)
    gateway.jobs(page=1, statuses=["FAILED"])
    gateway.jobs(page=1, statuses=["FAILED"], job_type="EVENT_CSV_IMPORT")
    gateway.jobs(page=1, statuses=["FAILED"], job_type="EVENT_CSV_IMPORT", per_page=50)
    assert len(client.calls) == 5
    assert gateway.hits == 0


def test_the_order_of_statuses_does_not_matter(gateway, client):
    gateway.jobs(statuses=["FAILED", "CANCELLED"])
    gateway.jobs(statuses=["CANCELLED", "FAILED"])
    assert len(client.calls) == 1


def test_it_passes_the_arguments_through(gateway, client):
    gateway.jobs(job_type="EVENT_CSV_IMPORT", statuses=["FAILED"], page=3, per_page=50)
    gateway.failures(detail(), limit=100, offset=200, chunk_id="bjch_1")
    assert client.calls == [
        ("jobs", "EVENT_CSV_IMPORT", ("FAILED",), 3, 50),
        ("failures", JOB_ID, 100, 200, "bjch_1"),
    ]


def test_errors_are_not_cached(gateway, client):
    client.errors.append(MeteroidError(ErrorKind.UNAVAILABLE, "down"))
    with pytest.raises(MeteroidError):
        gateway.job(JOB_ID)
    assert gateway.job(JOB_ID).id == JOB_ID
    assert len(client.calls) == 2
    assert (gateway.calls, gateway.hits) == (2, 0)


def test_keys_of_different_api_keys_do_not_meet():
    one, other = FakeClient(fingerprint="1" * 16), FakeClient(fingerprint="2" * 16)
    Gateway(one).job(JOB_ID)
    Gateway(other).job(JOB_ID)
    assert len(one.calls) == len(other.calls) == 1


def test_keys_of_different_base_urls_do_not_meet():
    one, other = FakeClient(base_url="http://a.test"), FakeClient(base_url="http://b.test")
    Gateway(one).jobs()
    Gateway(other).jobs()
    assert len(one.calls) == len(other.calls) == 1


@override_settings(
    METEROID_CACHE_TERMINAL_SECONDS=600,
    METEROID_CACHE_REOPENABLE_SECONDS=60,
    METEROID_CACHE_STALE_SECONDS=1000,
)
@pytest.mark.parametrize(
    ("status", "seconds"),
    [
        ("COMPLETED", 600),
        ("CANCELLED", 600),
        ("FAILED", 60),
        ("COMPLETED_WITH_ERRORS", 60),
        ("PROCESSING", 5),
    ],
)
def test_a_jobs_lifetime_follows_its_status(gateway, client, recording, status, seconds):
    client.status = status
    gateway.job(JOB_ID)
    assert recording.lifetimes() == [seconds]
    assert list(recording.timeouts.values()) == [seconds + 1000]


@override_settings(METEROID_CACHE_TERMINAL_SECONDS=600)
@pytest.mark.parametrize(("status", "seconds"), [("COMPLETED_WITH_ERRORS", 600), ("PENDING", 5), ("NEW", 5)])
def test_failures_live_as_long_as_their_jobs_status_allows(gateway, recording, status, seconds):
    gateway.failures(detail(status), limit=25, offset=0)
    assert recording.lifetimes() == [seconds]


def test_the_job_list_lives_briefly(gateway, recording):
    gateway.jobs()
    assert recording.lifetimes() == [10]


def test_failure_pages_are_cached_per_page_and_chunk(gateway, client):
    job = detail()
    gateway.failures(job, limit=25, offset=0)
    gateway.failures(job, limit=25, offset=0)
    gateway.failures(job, limit=25, offset=25)
    gateway.failures(job, limit=25, offset=0, chunk_id="bjch_1")
    assert len(client.calls) == 3
    assert gateway.hits == 1


def test_failure_pages_are_never_served_for_another_state_of_the_job(gateway, client):
    failed = detail("FAILED")
    gateway.failures(failed, limit=25, offset=0)
    gateway.failures(failed, limit=25, offset=0)
    # Retried: reopened, then ended again with other counts. Each state has pages of its own.
    reopened = JobDetail.parse({**_fields("PROCESSING"), "completed_at": None, "has_error_csv": False})
    gateway.failures(reopened, limit=25, offset=0)
    ended = JobDetail.parse({**_fields("COMPLETED_WITH_ERRORS"), "failure_count": 3, "failed_items": 3})
    gateway.failures(ended, limit=25, offset=0)
    gateway.failures(ended, limit=25, offset=0)
    assert [call[0] for call in client.calls] == ["failures"] * 3
    assert gateway.hits == 2


def _fields(status: str) -> dict:
    return {
        "id": JOB_ID,
        "job_type": "CUSTOMER_CSV_IMPORT",
        "status": status,
        "processed_items": 10,
        "failed_items": 2,
        "created_by": "u",
        "created_at": "2026-03-25T10:00:00.000Z",
        "completed_at": "2026-03-25T10:05:00.000Z",
        "failure_count": 2,
        "has_error_csv": True,
    }


def test_a_job_seen_ended_that_comes_back_active_was_reopened(gateway, client):
    client.status = "PROCESSING"
    assert gateway.reopened(gateway.job(JOB_ID)) is None  # never seen ended
    client.status = "FAILED"
    ended = gateway.job(JOB_ID, refresh=True)
    assert gateway.reopened(ended) is None  # ended: nothing to say
    client.status = "PROCESSING"
    running = gateway.job(JOB_ID, refresh=True)
    seen = gateway.reopened(running)
    assert seen is not None
    assert (seen.status, seen.status_label, seen.failed_items, seen.failure_count) == (
        "FAILED",
        "Failed",
        2,
        2,
    )
    other = Gateway(FakeClient(fingerprint="0" * 16))  # another key: another tenant's view
    assert other.reopened(running) is None


def test_files_are_never_cached(gateway, client):
    assert gateway.open_file("/files/x", default_filename="x.csv") == "/files/x"
    gateway.open_file("/files/x")
    assert len(client.calls) == 2
    assert gateway.calls == 2


def test_the_counters_are_thread_safe(gateway):
    gateway.jobs()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: gateway.jobs(), range(400)))
    assert gateway.stats() == {"calls": 1, "hits": 400, "stale": 0}


# --- the process-wide instance -------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_singleton():
    reset_gateway()
    yield
    reset_gateway()


@pytest.fixture
def fake_sandbox(monkeypatch):
    """Replaces the sandbox server module: these tests need its address, not its server."""
    module = types.ModuleType("dashboard.sandbox.api.server")
    module.sandbox_base_url = lambda: "http://127.0.0.1:9/sandbox"
    monkeypatch.setitem(sys.modules, "dashboard.sandbox.api.server", module)
    return module


@override_settings(METEROID_API_KEY="pv_live_real", METEROID_BASE_URL="https://api.meteroid.example")
def test_with_a_key_it_talks_to_meteroid():
    gateway = get_gateway()
    assert gateway.base_url == "https://api.meteroid.example"
    assert not gateway.is_sandbox
    assert gateway.client.key_fingerprint == cache.key_fingerprint("pv_live_real")
    assert get_gateway() is gateway


@override_settings(METEROID_API_KEY="", SANDBOX_API_KEY="pv_sand_test")
def test_without_a_key_it_talks_to_the_sandbox(fake_sandbox):
    gateway = get_gateway()
    assert gateway.is_sandbox
    assert gateway.base_url == "http://127.0.0.1:9/sandbox"
    assert gateway.client.key_fingerprint == cache.key_fingerprint("pv_sand_test")


def test_it_is_rebuilt_when_the_settings_change():
    with override_settings(METEROID_API_KEY="pv_live_a", METEROID_BASE_URL="https://a.example"):
        first = get_gateway()
    with override_settings(METEROID_API_KEY="pv_live_a", METEROID_BASE_URL="https://a.example"):
        assert get_gateway() is first
    with override_settings(METEROID_API_KEY="pv_live_b", METEROID_BASE_URL="https://a.example"):
        assert get_gateway() is not first
    with override_settings(
        METEROID_API_KEY="pv_live_a", METEROID_BASE_URL="https://a.example", METEROID_MAX_RETRIES=0
    ):
        rebuilt = get_gateway()
        assert rebuilt is not first
        assert rebuilt.client.max_retries == 0


@override_settings(METEROID_API_KEY="pv_live_a", METEROID_BASE_URL="https://a.example")
def test_reset_forgets_the_instance():
    first = get_gateway()
    reset_gateway()
    assert get_gateway() is not first


@override_settings(
    METEROID_API_KEY="pv_live_a",
    METEROID_BASE_URL="https://a.example",
    METEROID_CONNECT_TIMEOUT=1.5,
    METEROID_READ_TIMEOUT=4.0,
    METEROID_MAX_RETRY_WAIT=2.0,
)
def test_the_client_takes_its_limits_from_settings():
    client = get_gateway().client
    assert (client.connect_timeout, client.read_timeout, client.max_retry_wait) == (1.5, 4.0, 2.0)


# --- stale copies, refresh, budget -----------------------------------------------------------


def _expire_everything(recording: RecordingCache) -> None:
    for key, entry in list(recording.data.items()):
        if isinstance(entry, tuple) and entry[0] == cache.ENTRY_FORMAT:
            tag, stored, _, value = entry
            recording.data[key] = (tag, stored - 3600.0, stored - 3000.0, value)


def test_when_meteroid_fails_the_old_copy_is_served_and_noted(gateway, client, recording):
    first = gateway.job(JOB_ID)
    _expire_everything(recording)
    client.errors.append(MeteroidError(ErrorKind.UNAVAILABLE, "Meteroid could not be reached."))
    with freshness.collecting() as report:
        assert gateway.job(JOB_ID) == first
    assert report.answers == 1
    assert report.reason == "Meteroid could not be reached."
    assert report.oldest.age == pytest.approx(3600, abs=5)
    assert gateway.stats() == {"calls": 2, "hits": 1, "stale": 1}


def test_a_fresh_answer_is_noted_as_such(gateway):
    with freshness.collecting() as report:
        gateway.jobs()
        gateway.jobs()
    assert report.answers == 2 and not report


def test_a_refresh_skips_the_fresh_copy(gateway, client):
    gateway.jobs(page=1)
    gateway.jobs(page=1, refresh=True)
    gateway.job(JOB_ID)
    gateway.job(JOB_ID, refresh=True)
    gateway.failures(detail(), limit=25, offset=0)
    gateway.failures(detail(), limit=25, offset=0, refresh=True)
    assert len(client.calls) == 6
    gateway.jobs(page=1)
    assert len(client.calls) == 6


def test_an_entry_of_another_record_type_is_not_served(gateway, client, recording):
    gateway.job(JOB_ID)
    key = next(iter(recording.data))
    tag, stored, fresh_until, _ = recording.data[key]
    recording.data[key] = (tag, stored, fresh_until, "not a JobDetail")
    assert gateway.job(JOB_ID).id == JOB_ID
    assert len(client.calls) == 2


@override_settings(
    METEROID_API_KEY="pv_live_a", METEROID_BASE_URL="https://a.example", METEROID_MAX_CONCURRENCY=3
)
def test_the_client_has_a_budget_from_settings():
    gateway = get_gateway()
    budget = gateway.client.budget
    assert budget.max_in_flight == 3
    assert (
        budget.scope
        == gateway.scope
        == cache.scope_key("https://a.example", cache.key_fingerprint("pv_live_a"))
    )
