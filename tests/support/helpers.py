"""Helpers shared by tests."""

from __future__ import annotations

import time

from dashboard.index.status import ScanStatus, scan_status
from dashboard.meteroid.gateway import get_gateway

HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict[str, str]:
    """Headers of an htmx request that will swap the element with id `target`."""
    return {**HTMX, "HTTP_HX_TARGET": target}


def wait_for_scan(job_id: str) -> ScanStatus:
    """The index of a job, read now, in this thread, as a worker reads it: a test's database
    is a transaction that no worker process can see. Returns its status then."""
    gateway = get_gateway()
    job = gateway.job(job_id)
    scan_status(job, gateway=gateway)  # asks for the index, as a page does
    run_index_scans()
    return scan_status(job, gateway=gateway)


def indexed_job(job_id: str, created_at, reasons: list[str], *, scope=None, **fields):
    """A published index of `job_id` (of the dashboard's Meteroid, or `scope`), the job created
    at `created_at`, with a failure record per reason: for pages across jobs."""
    from dashboard.index import indexing, writer
    from dashboard.index.models import IndexedJob
    from dashboard.index.rows import record_row
    from dashboard.index.sources import scope_of
    from dashboard.meteroid.records import Failure

    scope = scope or scope_of(get_gateway())
    indexed = IndexedJob.objects.create(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        job_id=job_id,
        state_key=fields.pop("state_key", "s"),
        status=IndexedJob.Status.RUNNING,
        lease_holder="test",
        job_type=fields.pop("job_type", "CUSTOMER_CSV_IMPORT"),
        job_status=fields.pop("job_status", "COMPLETED_WITH_ERRORS"),
        job_created_at=created_at,
        updated_at=created_at,
        **fields,
    )
    rows = [
        record_row(Failure(f"bjf_{job_id}_{n}", "bjch_1", n, f"row-{n}", r)) for n, r in enumerate(reasons)
    ]
    writer.write_failures(indexed, rows)
    indexing.publish(indexed, "test")
    return indexed


def run_index_scans() -> int:
    """Run every scan of the index that waits, as a worker runs it; how many ran."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    from dashboard.index import indexing
    from dashboard.index.models import IndexedJob

    source = import_string(settings.INDEX_SOURCE)
    waiting = IndexedJob.objects.filter(status=IndexedJob.Status.QUEUED).order_by("pk")
    ran = 0
    for indexed in waiting:
        indexing.run_scan(indexed, source, read_ahead=0)
        ran += 1
    return ran


def upstream_calls() -> int:
    return get_gateway().stats()["calls"]


def wait_until(condition, timeout: float = 10.0, what: str = "the condition"):
    """Poll `condition` until it returns something true, and return that; fail after
    `timeout` seconds. For what happens in another thread or process: a test waits for it,
    with a bound, rather than sleeping a guess."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.01)


class Clock:
    """The clocks (wall and monotonic) as the dashboard and Django's local-memory cache read
    them, moved on by `advance()` instead of waited for. Sleep stays real."""

    def __init__(self, monkeypatch) -> None:
        from django.core.cache.backends import base, locmem

        from dashboard.index import status
        from dashboard.meteroid import budget, cache
        from dashboard.pages import refresh, rendered
        from dashboard.views import health

        self.offset = 0.0
        for module in (cache, budget, refresh, rendered, health, status, base, locmem):
            monkeypatch.setattr(module, "time", self)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def __getattr__(self, name: str):
        return getattr(time, name)


class _Later:
    """The `time` module as seen `offset` seconds from now (monotonic clocks and sleep stay real)."""

    def __init__(self, offset: float) -> None:
        self.offset = offset
        self.monotonic = time.monotonic
        self.sleep = time.sleep

    def time(self) -> float:
        return time.time() + self.offset


def later(monkeypatch, seconds: float) -> None:
    """Make the cache judge its entries as if `seconds` had passed: they expire, and the
    copies shown are that much older."""
    from dashboard.meteroid import cache

    monkeypatch.setattr(cache, "time", _Later(seconds))


class RecordingCache:
    """A dict standing in for Django's cache, remembering each entry's timeout."""

    def __init__(self):
        self.data = {}
        self.timeouts = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, timeout):
        self.data[key] = value
        self.timeouts[key] = timeout

    def add(self, key, value, timeout):
        if key in self.data:
            return False
        self.set(key, value, timeout)
        return True

    def delete(self, key):
        self.data.pop(key, None)
        self.timeouts.pop(key, None)

    def lifetimes(self) -> list[float]:
        """How long each stored answer is fresh (the entry itself is kept longer)."""
        return [round(entry[2] - entry[1]) for entry in self.data.values() if isinstance(entry, tuple)]


def assert_problem_page(response, status: int, *says: str) -> str:
    """The answer is an HTML page (not a file to download) with this status, whose text says
    each of `says`; its text is returned."""
    from tests.support.markup import texts

    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    assert "attachment" not in response.get("Content-Disposition", "")
    html = response.content.decode()
    assert html.lstrip().lower().startswith("<!doctype html>"), html[:200]
    text = " ".join(texts(html).split())
    for phrase in says:
        assert phrase in text, (phrase, text[:2000])
    return text
