"""The cache on a real Redis server, as several dashboard processes share it: one fetch per
page across processes, old copies for bad days, entries this release cannot read, pauses."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from django.core.cache import cache as django_cache

from dashboard.meteroid import cache
from dashboard.meteroid.budget import Budget
from dashboard.meteroid.errors import ErrorKind, MeteroidError
from tests.support import services
from tests.support.django_process import checked, environment, python
from tests.support.paths import ROOT

pytestmark = pytest.mark.redis


@pytest.fixture
def redis(redis_cache):
    """(raw Redis client, the key prefix of this test)."""
    return services.require_redis(), redis_cache


def raw_key(prefix: str, key: str) -> str:
    return f"{prefix}:1:{key}"


def fetcher(value="fetched", error: MeteroidError | None = None):
    calls = []

    def fetch():
        calls.append(1)
        if error:
            raise error
        return value

    return fetch, calls


def test_an_answer_is_stored_in_redis_and_kept_past_its_lifetime(redis, settings):
    client, prefix = redis
    settings.METEROID_CACHE_STALE_SECONDS = 1000
    fetch, calls = fetcher()
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("fetched", hit=False)
    assert cache.get_or_fetch("k", 60, fetch) == cache.Fetched("fetched", hit=True)
    assert len(calls) == 1
    assert 1050 < client.ttl(raw_key(prefix, "k")) <= 1060
    assert client.exists(raw_key(prefix, "k:flight")) == 0


def test_garbage_under_a_key_is_ignored_and_replaced(redis, caplog):
    client, prefix = redis
    client.set(raw_key(prefix, "k"), b"\x80\x05not a pickle at all")
    fetch, calls = fetcher()
    assert cache.get_or_fetch("k", 60, fetch).value == "fetched"
    assert cache.get_or_fetch("k", 60, fetch).hit
    assert len(calls) == 1
    assert "Cache read failed" in caplog.text


def test_an_older_releases_entry_is_ignored(redis):
    django_cache.set("k", {"old": "shape"}, 60)
    fetch, _ = fetcher()
    assert cache.get_or_fetch("k", 60, fetch, expect=str) == cache.Fetched("fetched", hit=False)


def test_an_expired_entry_is_the_copy_served_while_meteroid_fails(redis):
    stored = time.time() - 500
    django_cache.set("k", (cache.ENTRY_FORMAT, stored, stored + 10, "old"), 3600)
    fetch, _ = fetcher(error=MeteroidError(ErrorKind.UPSTREAM, "Meteroid had an internal error (HTTP 500)."))
    fetched = cache.get_or_fetch("k", 60, fetch, scope="m")
    assert fetched.value == "old" and fetched.stale.reason.startswith("Meteroid had an internal error")
    assert fetched.stale.age == pytest.approx(500, abs=5)


def test_a_lock_left_by_a_dead_process_expires(redis):
    assert django_cache.add("k:flight", "a process that died", 1)
    fetch, calls = fetcher()
    started = time.monotonic()
    assert cache.get_or_fetch("k", 60, fetch).value == "fetched"
    assert 0.5 < time.monotonic() - started < 3 and len(calls) == 1


@pytest.mark.django_db
def test_a_429_met_by_another_process_pauses_this_one(redis, meteroid, logged_in):
    from dashboard.meteroid.gateway import get_gateway
    from tests.support.upstream import FAKE_KEY, JOB, Reply, job_path

    meteroid.script(
        job_path(), Reply(429, {"code": "TOO_MANY_REQUESTS", "message": "slow down"}, {"Retry-After": "30"})
    )
    # Another dashboard process asks Meteroid through its own gateway, and meets the 429.
    code = (
        "from dashboard.meteroid.gateway import get_gateway; "
        "from dashboard.meteroid.errors import MeteroidError\n"
        f"try: get_gateway().job({JOB!r})\n"
        "except MeteroidError as error: print(error.kind.value)"
    )
    out = _python(
        redis[1],
        code,
        METEROID_BASE_URL=meteroid.base_url,
        METEROID_API_KEY=FAKE_KEY,
        METEROID_MAX_RETRIES="0",
    )
    assert out.strip() == "rate_limited"
    assert meteroid.count(job_path()) == 1
    # This process has not met it, yet is paused for the rest of the Retry-After...
    assert 28 < get_gateway().client.budget.paused_for() <= 30
    meteroid.heal()
    response = logged_in.get(f"/jobs/{JOB}/")
    assert response.status_code == 503
    assert "try again in" in response.content.decode()
    assert meteroid.count(job_path()) == 1  # ...and does not ask Meteroid meanwhile
    # ...while another Meteroid (another base URL or key) is not paused.
    assert Budget("meteroid-b", max_in_flight=1, slot_wait=1, max_pause_wait=1).paused_for() == 0


@pytest.mark.django_db
def test_refresh_limits_hold_across_processes(redis, settings):
    from dashboard.pages import refresh

    settings.REFRESH_PER_MINUTE = 2
    claim = "from dashboard.pages import refresh; d = refresh.claim({person!r}, {page!r}); print(d.allowed, d.reason)"

    def elsewhere(person: str, page: str) -> str:
        return _python(redis[1], claim.format(person=person, page=page), REFRESH_PER_MINUTE="2").strip()

    # A page refreshed by one process cannot be refreshed at once through another.
    assert refresh.claim("7", "/jobs/").allowed
    assert elsewhere("7", "/jobs/") == "False page"
    # A person's pages a minute are counted across processes too.
    assert elsewhere("7", "/jobs/?page=2") == "True"
    decision = refresh.claim("7", "/jobs/?page=3")
    assert not decision.allowed and decision.reason == "person"
    assert elsewhere("8", "/jobs/") == "True"  # another person is not held back


# --- across processes --------------------------------------------------------------------------


def _env(prefix: str, **env: str) -> dict[str, str]:
    return environment(
        CACHE_URL=f"{services.REDIS_URL}?key_prefix={prefix}",
        TEST_REDIS_URL=services.REDIS_URL,
        LOG_LEVEL="ERROR",
        **env,
    )


def _python(prefix: str, code: str, **env: str) -> str:
    """Django in another process on this test's Redis prefix, running `code`."""
    return checked(python(code, env=_env(prefix, **env)))


def _ask_from_processes(
    client, prefix: str, *, processes: int, threads: int, mode: str = "ok"
) -> tuple[list[dict], str]:
    """Start `processes` workers that each ask `threads` times at once for one key, all at
    the same moment once every one of them is ready."""
    counter = f"{prefix}:calls:{uuid.uuid4().hex}"
    workers = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.support.cache_worker", "page",
                "--threads", str(threads), "--mode", mode, "--counter", counter,
            ],
            cwd=ROOT,
            env=_env(prefix),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]  # fmt: skip
    deadline = time.monotonic() + 60
    while int(client.get(f"{counter}:ready") or 0) < processes:
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(worker.poll() is None for worker in workers), "a worker died"
        time.sleep(0.02)
    client.set(f"{counter}:go", str(time.time()))
    lines = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err or out
        lines += [json.loads(line) for line in out.splitlines() if line.strip()]
    return lines, counter


def test_processes_asking_at_once_share_one_fetch(redis):
    client, prefix = redis
    answers, counter = _ask_from_processes(client, prefix, processes=4, threads=5)
    assert len(answers) == 20
    assert max(a["late"] for a in answers) < 0.9  # all asked while the one fetch (1 s) ran
    assert int(client.get(counter)) == 1
    assert len({a["value"] for a in answers}) == 1
    assert sum(not a["hit"] for a in answers) == 1


def test_processes_waiting_on_a_failed_fetch_share_the_old_copy(redis):
    client, prefix = redis
    stored = time.time() - 500
    django_cache.set("page", (cache.ENTRY_FORMAT, stored, stored + 10, "old copy"), 3600)
    answers, counter = _ask_from_processes(client, prefix, processes=3, threads=4, mode="fail")
    assert int(client.get(counter)) == 1
    assert all(a.get("value") == "old copy" for a in answers), answers
    assert {a["stale"] for a in answers} == {"Meteroid could not be reached."}


def test_one_redis_client_serves_every_operation_and_thread(redis):
    from concurrent.futures import ThreadPoolExecutor

    backend = django_cache._cache  # the client of the cache the test configured
    first = backend.get_client(write=True)
    assert backend.get_client() is first and backend.get_client("k", write=True) is first

    def round_trip(n: int) -> int:
        django_cache.set(f"thread-{n}", n, 30)
        return django_cache.get(f"thread-{n}")

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(round_trip, range(64))) == list(range(64))
    assert backend.get_client() is first
