"""Cache keys, lifetimes, and get-or-fetch: single flight, stale copies, versioned entries.

These run on the local-memory cache of the test settings; test_cache_redis.py runs the
cross-process parts against a real Redis server.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.core.cache import cache as django_cache
from django.test import override_settings

from dashboard.meteroid import cache
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.meteroid.records import Job, JobDetail

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


@override_settings(METEROID_CACHE_LIST_SECONDS=7)
def test_the_job_list_lives_as_long_as_its_setting():
    assert cache.lifetime("jobs") == 7


def test_the_defaults_are_hours_a_minute_seconds_and_seconds():
    assert cache.lifetime("job", job("COMPLETED")) == 6 * 3600
    assert cache.lifetime("job", job("FAILED")) == 60
    assert cache.lifetime("job", job("PROCESSING")) == 5
    assert cache.lifetime("jobs") == 10


@override_settings(METEROID_CACHE_TERMINAL_SECONDS=1234)
@pytest.mark.parametrize("status", ["COMPLETED", "CANCELLED"])
def test_a_job_that_never_changes_again_lives_long(status):
    assert cache.lifetime("job", job(status)) == 1234


@override_settings(METEROID_CACHE_TERMINAL_SECONDS=1234, METEROID_CACHE_REOPENABLE_SECONDS=42)
@pytest.mark.parametrize("status", ["COMPLETED_WITH_ERRORS", "FAILED"])
def test_a_job_that_a_retry_can_reopen_is_asked_for_again_soon(status):
    assert cache.lifetime("job", job(status)) == 42


@override_settings(METEROID_CACHE_TERMINAL_SECONDS=1234, METEROID_CACHE_REOPENABLE_SECONDS=42)
@pytest.mark.parametrize("status", ["COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"])
def test_the_failures_of_an_ended_job_live_long_under_its_state(status):
    assert cache.lifetime("failures", job(status)) == 1234


def detail(**changes) -> JobDetail:
    fields = {
        "id": "bjob_1",
        "job_type": "CUSTOMER_CSV_IMPORT",
        "status": "FAILED",
        "processed_items": 400,
        "failed_items": 400,
        "total_items": 400,
        "created_by": "u",
        "created_at": "2026-03-25T10:00:00.000Z",
        "completed_at": "2026-03-25T10:05:00.000Z",
        "input_file_name": "customers.csv",
        "failure_count": 0,
        "has_error_csv": False,
        "error_csv_url": None,
        "input_file_url": "/files/v1/batch-job/input/bjob_1?token=one",
    }
    return JobDetail.parse(fields | changes)


def test_a_job_state_key_changes_with_what_a_retry_changes():
    base = cache.job_state_key(detail())
    changed = [
        {"status": "PROCESSING", "completed_at": None},
        {"status": "COMPLETED_WITH_ERRORS"},
        {"completed_at": "2026-03-25T11:00:00.000Z"},
        {"processed_items": 399},
        {"failed_items": 59},
        {"failure_count": 9},
        {"has_error_csv": True, "error_csv_url": "/files/v1/batch-job/errors/bjob_1?token=x"},
        {"id": "bjob_2"},
    ]
    keys = {cache.job_state_key(detail(**change)) for change in changed}
    assert base not in keys and len(keys) == len(changed)


def test_a_job_state_key_ignores_fresh_file_tokens():
    fresh = detail(input_file_url="/files/v1/batch-job/input/bjob_1?token=two")
    assert cache.job_state_key(fresh) == cache.job_state_key(detail())


@override_settings(METEROID_CACHE_ACTIVE_SECONDS=3)
@pytest.mark.parametrize("kind", ["job", "failures"])
@pytest.mark.parametrize("status", ["PENDING", "CHUNKING", "PROCESSING", "SOMETHING_NEW"])
def test_an_active_or_unknown_job_lives_seconds(kind, status):
    assert cache.lifetime(kind, job(status)) == 3


def test_a_job_not_fetched_yet_lives_seconds():
    assert cache.lifetime("job") == 5


def test_an_unknown_kind_is_a_mistake():
    with pytest.raises(ValueError, match="unknown cache kind"):
        cache.lifetime("chunks")  # type: ignore[arg-type]


# --- get_or_fetch --------------------------------------------------------------------------


class Fetcher:
    """Answers in turn with `results` (an exception is raised), counting calls, after `delay`."""

    def __init__(self, *results, delay: float = 0.0):
        self.results = list(results)
        self.calls = 0
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self):
        with self.lock:
            self.calls += 1
            result = self.results.pop(0) if len(self.results) > 1 else self.results[0]
        time.sleep(self.delay)
        if isinstance(result, Exception):
            raise result
        return result


def down(kind: ErrorKind = ErrorKind.UNAVAILABLE) -> MeteroidError:
    return MeteroidError(kind, f"Meteroid is {kind.value}.", status=503)


def put(key: str, value, *, age: float, fresh_for: float) -> float:
    """Store an entry fetched `age` seconds ago that was fresh for `fresh_for` seconds."""
    stored = time.time() - age
    django_cache.set(key, (cache.ENTRY_FORMAT, stored, stored + fresh_for, value), 3600)
    return stored


def test_a_success_is_stored_and_then_hit():
    fetch = Fetcher("first", "second")
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("first", hit=False)
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("first", hit=True)
    assert fetch.calls == 1


def test_an_error_is_never_stored():
    fetch = Fetcher(down(), "up")
    with pytest.raises(MeteroidError):
        cache.get_or_fetch("k", 60, fetch)
    assert django_cache.get("k") is None
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("up", hit=False)
    assert fetch.calls == 2


def test_an_expired_entry_is_fetched_again():
    put("k", "old", age=20, fresh_for=10)
    fetch = Fetcher("new")
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("new", hit=False)
    assert cache.get_or_fetch("k", 60, fetch).value == "new"
    assert fetch.calls == 1


@override_settings(METEROID_CACHE_STALE_SECONDS=1000)
def test_the_lifetime_may_depend_on_the_value_and_a_copy_outlives_it(recording):
    before = time.time()
    cache.get_or_fetch("k", len, Fetcher("seven!!"))
    assert recording.timeouts["k"] == 7 + 1000
    tag, stored_at, fresh_until, value = recording.data["k"]
    assert (tag, value) == (cache.ENTRY_FORMAT, "seven!!")
    assert before <= stored_at <= time.time()
    assert fresh_until == pytest.approx(stored_at + 7)


def test_a_zero_lifetime_stores_nothing(recording):
    cache.get_or_fetch("k", 0, Fetcher("x"))
    assert "k" not in recording.data


def test_the_flight_lock_is_released_after_a_fetch(recording):
    cache.get_or_fetch("k", 60, Fetcher("x"))
    with pytest.raises(MeteroidError):
        cache.get_or_fetch("other", 60, Fetcher(down()))
    assert [key for key in recording.data if key.endswith(":flight")] == []


class BrokenCache:
    def get(self, key, default=None):
        raise ConnectionError("redis is down")

    def set(self, key, value, timeout):
        raise ConnectionError("redis is down")

    def add(self, key, value, timeout):
        raise ConnectionError("redis is down")

    def delete(self, key):
        raise ConnectionError("redis is down")


def test_a_broken_backend_does_not_break_the_page(monkeypatch, caplog):
    monkeypatch.setattr(cache, "cache", BrokenCache())
    fetch = Fetcher("a", "b")
    assert cache.get_or_fetch("k", 60, fetch, scope="s") == cache.Fetched("a", hit=False)
    assert cache.get_or_fetch("k", 60, fetch, scope="s") == cache.Fetched("b", hit=False)
    assert "Cache read failed" in caplog.text
    assert "Cache write failed" in caplog.text
    assert "Cache lock failed" in caplog.text


# --- versioned entries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        "a bare value of an older release",
        ("mtr-entry/0", 1.0, 2.0, "an older envelope"),
        (cache.ENTRY_FORMAT, "not a time", 2.0, "x"),
        (cache.ENTRY_FORMAT, 1.0),
        {"dict": "of something else"},
    ],
)
def test_an_entry_of_another_format_is_ignored_and_replaced(garbage, caplog):
    django_cache.set("k", garbage, 60)
    fetch = Fetcher("fresh")
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("fresh", hit=False)
    assert cache.get_or_fetch("k", 60, fetch).hit
    assert "another format" in caplog.text


def test_an_entry_of_the_wrong_type_is_ignored():
    put("k", ["a list"], age=0, fresh_for=60)
    fetch = Fetcher("a string")
    assert cache.get_or_fetch("k", 60, fetch, expect=str) == cache.Fetched("a string", hit=False)


def test_an_entry_of_the_wrong_type_is_never_served_as_a_stale_copy():
    put("k", 42, age=100, fresh_for=10)
    with pytest.raises(MeteroidError):
        cache.get_or_fetch("k", 60, Fetcher(down()), expect=str)


class Vanishing:
    """Stored, then removed from this module: its pickle no longer loads, as after a release
    that moved or removed a record class."""


def test_an_entry_that_no_longer_unpickles_is_ignored(monkeypatch, caplog):
    put("k", Vanishing(), age=0, fresh_for=60)
    monkeypatch.delattr(__import__(__name__, fromlist=["Vanishing"]), "Vanishing")
    fetch = Fetcher("fresh")
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("fresh", hit=False)
    assert "Cache read failed" in caplog.text


# --- stale beats broken ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ErrorKind.UNAVAILABLE, ErrorKind.RATE_LIMITED, ErrorKind.UPSTREAM])
def test_a_retryable_failure_serves_the_old_copy_with_its_age_and_reason(kind):
    stored = put("k", "old", age=300, fresh_for=10)
    fetched = cache.get_or_fetch("k", 60, Fetcher(down(kind)))
    assert fetched.value == "old" and fetched.hit
    assert fetched.stale is not None
    assert fetched.stale.fetched_at == stored
    assert fetched.stale.age == pytest.approx(300, abs=2)
    assert fetched.stale.reason == f"Meteroid is {kind.value}."
    assert fetched.stale.kind is kind


@pytest.mark.parametrize("kind", [ErrorKind.NOT_FOUND, ErrorKind.UNAUTHORIZED, ErrorKind.BAD_REQUEST])
def test_a_failure_that_retrying_cannot_fix_is_not_hidden(kind):
    put("k", "old", age=300, fresh_for=10)
    with pytest.raises(MeteroidError) as caught:
        cache.get_or_fetch("k", 60, Fetcher(MeteroidError(kind, "no")))
    assert caught.value.kind is kind


def test_without_a_copy_the_failure_passes_through():
    with pytest.raises(MeteroidError, match="unavailable"):
        cache.get_or_fetch("k", 60, Fetcher(down()))


def test_a_stale_copy_keeps_its_place_for_the_next_try():
    put("k", "old", age=300, fresh_for=10)
    fetch = Fetcher(down(), "new")
    assert cache.get_or_fetch("k", 60, fetch).stale is not None
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("new", hit=False)


def test_after_a_failure_pages_with_a_copy_are_served_it_without_asking_again():
    put("a", "old a", age=300, fresh_for=10)
    put("b", "old b", age=300, fresh_for=10)
    first = Fetcher(down())
    assert cache.get_or_fetch("a", 60, first, scope="m").stale is not None
    second = Fetcher("new b")
    fetched = cache.get_or_fetch("b", 60, second, scope="m")
    assert (fetched.value, second.calls) == ("old b", 0)
    assert fetched.stale.reason == "Meteroid is unavailable."
    # Another Meteroid (or key) is not affected, and a page with no copy still asks.
    assert cache.get_or_fetch("b", 60, second, scope="other").value == "new b"
    assert cache.get_or_fetch("c", 60, Fetcher("c"), scope="m").value == "c"


def test_a_success_ends_the_outage(monkeypatch):
    put("a", "old a", age=300, fresh_for=10)
    put("b", "old b", age=300, fresh_for=10)
    cache.get_or_fetch("a", 60, Fetcher(down()), scope="m")
    cache.get_or_fetch("c", 60, Fetcher("c"), scope="m")  # Meteroid answers again
    assert cache.get_or_fetch("b", 60, Fetcher("new b"), scope="m").value == "new b"


def test_the_outage_note_expires(clock):
    put("a", "old a", age=300, fresh_for=10)
    cache.get_or_fetch("a", 60, Fetcher(down()), scope="m")
    clock.advance(cache.OUTAGE_SECONDS - 1)
    assert cache.get_or_fetch("a", 60, Fetcher("new a"), scope="m").value == "old a"  # still out
    clock.advance(2)
    assert cache.get_or_fetch("a", 60, Fetcher("new a"), scope="m").value == "new a"


# --- refresh -------------------------------------------------------------------------------------


def test_a_refresh_asks_again_although_the_copy_is_fresh():
    put("k", "cached", age=1, fresh_for=60)
    fetch = Fetcher("new")
    assert cache.get_or_fetch("k", 60, fetch, refresh=True) == cache.Fetched("new", hit=False)
    assert cache.get_or_fetch("k", 60, fetch).value == "new"
    assert fetch.calls == 1


def test_a_failed_refresh_keeps_the_copy_and_says_why():
    put("k", "cached", age=1, fresh_for=60)
    fetched = cache.get_or_fetch("k", 60, Fetcher(down()), refresh=True)
    assert fetched.value == "cached"
    assert fetched.stale is not None and fetched.stale.age < 5


def test_a_refresh_ignores_the_outage_note():
    put("a", "old a", age=300, fresh_for=10)
    cache.get_or_fetch("a", 60, Fetcher(down()), scope="m")
    assert cache.get_or_fetch("a", 60, Fetcher("new a"), scope="m", refresh=True).value == "new a"


# --- single flight -----------------------------------------------------------------------------


def _at_once(count: int, call) -> list:
    """Run `call` in `count` threads released together; their results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_threads_asking_at_once_share_one_fetch():
    fetch = Fetcher("value", delay=0.2)
    results = _at_once(20, lambda: cache.get_or_fetch("k", 60, fetch))
    assert fetch.calls == 1
    assert {r.value for r in results} == {"value"}
    assert sum(not r.hit for r in results) == 1


def test_threads_waiting_on_a_failed_fetch_share_its_failure():
    fetch = Fetcher(down(), delay=0.2)
    results = _at_once(10, lambda: cache.get_or_fetch("k", 60, fetch))
    assert fetch.calls == 1
    assert all(isinstance(r, MeteroidError) for r in results)


def test_threads_waiting_on_a_failed_fetch_get_the_old_copy():
    put("k", "old", age=100, fresh_for=10)
    fetch = Fetcher(down(), delay=0.2)
    results = _at_once(10, lambda: cache.get_or_fetch("k", 60, fetch))
    assert fetch.calls == 1
    assert all(r.value == "old" and r.stale is not None for r in results)


def test_different_pages_do_not_wait_for_each_other():
    fetch = Fetcher("v", delay=0.3)
    started = time.monotonic()
    results = _at_once(4, lambda: cache.get_or_fetch(f"k{threading.get_ident()}", 60, fetch))
    assert fetch.calls == 4
    assert time.monotonic() - started < 1.0
    assert all(r.value == "v" for r in results)


@pytest.fixture
def waiting(monkeypatch) -> threading.Event:
    """Set once a reader is waiting for another process's fetch (its first poll), so that
    the other process answers while it waits, not before it looks."""
    polled = threading.Event()

    class Time:
        def __getattr__(self, name: str):
            return getattr(time, name)

        def sleep(self, seconds: float) -> None:
            polled.set()
            time.sleep(seconds)

    monkeypatch.setattr(cache, "time", Time())
    return polled


def _elsewhere(waiting: threading.Event, then) -> threading.Thread:
    """Another process that does `then` once a reader here waits for it."""

    def run() -> None:
        assert waiting.wait(10), "nobody waited"
        then()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _lock(key: str, seconds: float) -> None:
    """Another process holds the fetch of `key`."""
    assert django_cache.add(f"{key}:flight", "another-process", seconds)


def test_a_fetch_held_elsewhere_is_waited_for_not_repeated(waiting):
    _lock("k", 30)
    fetch = Fetcher("mine")

    def other_process_finishes():
        put("k", "theirs", age=0, fresh_for=60)
        django_cache.delete("k:flight")

    other = _elsewhere(waiting, other_process_finishes)
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("theirs", hit=True)
    assert fetch.calls == 0
    other.join(10)


def test_a_failure_elsewhere_is_shared_with_those_waiting(waiting):
    put("k", "old", age=100, fresh_for=10)
    _lock("k", 30)
    fetch = Fetcher("mine")

    def other_process_fails():
        cache._share_failure("k:failed", down(ErrorKind.RATE_LIMITED))
        django_cache.delete("k:flight")

    other = _elsewhere(waiting, other_process_fails)
    fetched = cache.get_or_fetch("k", 60, fetch)
    other.join(10)
    assert fetch.calls == 0
    assert fetched.value == "old" and fetched.stale.kind is ErrorKind.RATE_LIMITED


def test_a_lock_left_by_a_dead_holder_blocks_only_until_it_expires(waiting):
    _lock("k", 1)  # the holder died: nothing will come
    holders = []

    def fetch() -> str:
        holders.append(django_cache.get("k:flight"))
        return "mine"

    started = time.monotonic()
    assert cache.get_or_fetch("k", 60, fetch).value == "mine"
    # It waited, and fetched only once the dead holder's lock had expired and was its own.
    assert waiting.is_set()
    assert len(holders) == 1 and holders[0] not in (None, "another-process")
    assert time.monotonic() - started < 3


def test_the_wait_for_another_fetch_is_bounded(monkeypatch):
    monkeypatch.setattr(cache, "FLIGHT_WAIT_SECONDS", 0.3)
    _lock("k", 30)  # a live holder, far too slow
    fetch = Fetcher("mine")
    started = time.monotonic()
    assert cache.get_or_fetch("k", 60, fetch).value == "mine"
    assert time.monotonic() - started < 1.5


def test_a_holder_that_ends_without_an_answer_hands_over(waiting):
    _lock("k", 30)
    other = _elsewhere(waiting, lambda: django_cache.delete("k:flight"))
    fetch = Fetcher("mine")
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("mine", hit=False)
    other.join(10)


def test_a_refresh_does_not_take_an_answer_older_than_itself(waiting):
    put("k", "cached", age=1, fresh_for=60)
    _lock("k", 30)

    def other_process_finishes():
        put("k", "theirs", age=0, fresh_for=60)
        django_cache.delete("k:flight")

    other = _elsewhere(waiting, other_process_finishes)
    fetch = Fetcher("mine")
    assert cache.get_or_fetch("k", 60, fetch, refresh=True).value == "theirs"
    assert fetch.calls == 0
    other.join(10)
