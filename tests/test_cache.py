"""Cache keys, lifetimes and get-or-fetch."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache as django_cache
from django.test import override_settings

from dashboard.meteroid import cache
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.records import Job

API_KEY = "pv_live_SECRET0KEY0do0not0leak"
BASE = "https://api.meteroid.example"
PATH = "/api/v1/batch-jobs"


def job(status: str) -> Job:
    return Job.parse(
        {
            "id": "bjob_1",
            "job_type": "EVENT_CSV_IMPORT",
            "status": status,
            "processed_items": 1,
            "failed_items": 0,
            "created_by": "u",
            "created_at": "2026-03-25T10:00:00.000Z",
        }
    )


# --- keys ----------------------------------------------------------------------------------


def test_a_key_is_fixed_length_safe_and_holds_no_key_material():
    key = cache.cache_key(BASE, API_KEY, PATH, {"status": ["FAILED"], "page": "0"})
    assert re.fullmatch(r"mtr:v\d+:[0-9a-f]{64}", key)
    assert API_KEY not in key
    assert cache.key_fingerprint(API_KEY) not in key


def test_the_fingerprint_is_short_and_not_the_key():
    fingerprint = cache.key_fingerprint(API_KEY)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    assert fingerprint == cache.key_fingerprint(API_KEY)
    assert fingerprint != cache.key_fingerprint(API_KEY + "x")


def test_cache_key_equals_the_fingerprinted_key():
    query = {"page": "1"}
    assert cache.cache_key(BASE, API_KEY, PATH, query) == cache.fingerprinted_key(
        BASE, cache.key_fingerprint(API_KEY), PATH, query
    )


@pytest.mark.parametrize(
    "change",
    [
        {"base_url": "https://other.example"},
        {"api_key": "pv_live_another"},
        {"path": "/api/v1/batch-jobs/bjob_1"},
        {"query": {"status": ["FAILED"], "page": "1"}},
        {"query": {"status": ["FAILED", "CANCELLED"], "page": "0"}},
        {"query": {"status": ["FAILED"], "page": "0", "job_type": "EVENT_CSV_IMPORT"}},
    ],
)
def test_the_key_changes_with_each_input(change):
    args = {"base_url": BASE, "api_key": API_KEY, "path": PATH, "query": {"status": ["FAILED"], "page": "0"}}
    assert cache.cache_key(**args) != cache.cache_key(**{**args, **change})


def test_the_key_changes_with_the_record_version(monkeypatch):
    before = cache.cache_key(BASE, API_KEY, PATH, {})
    monkeypatch.setattr(cache, "RECORD_VERSION", 999)
    assert cache.cache_key(BASE, API_KEY, PATH, {}) != before


def test_the_key_is_stable_under_query_order_and_absent_values():
    one = cache.cache_key(BASE, API_KEY, PATH, {"status": ["FAILED", "CANCELLED"], "page": "0"})
    other = cache.cache_key(
        BASE + "/",
        API_KEY,
        PATH,
        {"page": 0, "job_type": None, "chunk_id": "", "status": ("CANCELLED", "FAILED")},
    )
    assert one == other


def test_a_single_value_equals_a_list_of_one():
    assert cache.cache_key(BASE, API_KEY, PATH, {"status": "FAILED"}) == cache.cache_key(
        BASE, API_KEY, PATH, {"status": ["FAILED"]}
    )


# --- lifetimes -----------------------------------------------------------------------------


def test_the_job_list_lives_briefly():
    assert cache.lifetime("jobs") == 10


@override_settings(METEROID_CACHE_SECONDS=1234)
@pytest.mark.parametrize("kind", ["job", "failures"])
@pytest.mark.parametrize("status", ["COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"])
def test_a_terminal_job_lives_long(kind, status):
    assert cache.lifetime(kind, job(status)) == 1234


@pytest.mark.parametrize("kind", ["job", "failures"])
@pytest.mark.parametrize("status", ["PENDING", "CHUNKING", "PROCESSING", "SOMETHING_NEW"])
def test_an_active_or_unknown_job_lives_seconds(kind, status):
    assert cache.lifetime(kind, job(status)) == 5


def test_a_job_not_fetched_yet_lives_seconds():
    assert cache.lifetime("job") == 5


def test_an_unknown_kind_is_a_mistake():
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache.lifetime("chunks")  # type: ignore[arg-type]


# --- get_or_fetch --------------------------------------------------------------------------


class Fetcher:
    def __init__(self, *results):
        self.results = list(results)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def test_a_success_is_stored_and_then_hit():
    fetch = Fetcher("first", "second")
    assert cache.get_or_fetch("k", 60, fetch) == ("first", False)
    assert cache.get_or_fetch("k", 60, fetch) == ("first", True)
    assert fetch.calls == 1


def test_an_error_is_never_stored():
    fetch = Fetcher(MeteroidError(ErrorKind.UNAVAILABLE, "down"), "up")
    with pytest.raises(MeteroidError):
        cache.get_or_fetch("k", 60, fetch)
    assert django_cache.get("k") is None
    assert cache.get_or_fetch("k", 60, fetch) == ("up", False)
    assert fetch.calls == 2


class RecordingCache:
    def __init__(self):
        self.data = {}
        self.timeouts = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, timeout):
        self.data[key] = value
        self.timeouts[key] = timeout


def test_the_lifetime_may_depend_on_the_value(monkeypatch):
    recording = RecordingCache()
    monkeypatch.setattr(cache, "cache", recording)
    cache.get_or_fetch("k", len, Fetcher("seven!!"))
    assert recording.timeouts == {"k": 7}


def test_a_zero_lifetime_stores_nothing(monkeypatch):
    recording = RecordingCache()
    monkeypatch.setattr(cache, "cache", recording)
    cache.get_or_fetch("k", 0, Fetcher("x"))
    assert recording.data == {}


class BrokenCache:
    def get(self, key, default=None):
        raise ConnectionError("redis is down")

    def set(self, key, value, timeout):
        raise ConnectionError("redis is down")


def test_a_broken_backend_does_not_break_the_page(monkeypatch, caplog):
    monkeypatch.setattr(cache, "cache", BrokenCache())
    fetch = Fetcher("a", "b")
    assert cache.get_or_fetch("k", 60, fetch) == ("a", False)
    assert cache.get_or_fetch("k", 60, fetch) == ("b", False)
    assert "Cache read failed" in caplog.text
    assert "Cache write failed" in caplog.text
