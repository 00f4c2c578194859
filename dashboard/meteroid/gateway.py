"""The gateway: Meteroid's answers through the cache, and the process-wide instance.

Views ask `get_gateway()` for jobs, a job and pages of failures; the gateway serves them from
the cache when it can and otherwise from its `MeteroidClient` (one fetch however many ask at
once). When Meteroid fails and an older copy is known, the copy is returned and the failure
noted in the request's `freshness` report, which pages show as a banner: views get values,
never a special type. Whole-job scans use `gateway.client` directly, uncached, and keep their
own results; the client's `Budget` limits everything that goes upstream.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import ImproperlyConfigured

from . import cache, freshness
from .budget import Budget
from .client import (
    DEFAULT_POOL_SIZE,
    JOBS_PATH,
    FileDownload,
    MeteroidClient,
    cache_use,
    failures_path,
    job_path,
)
from .records import STATUSES, FailureColumns, FailurePage, Job, JobDetail, JobList

logger = logging.getLogger("dashboard.meteroid")

# How long the dashboard remembers how it last saw a job end, to tell that it was reopened.
ENDED_SEEN_SECONDS = 7 * 24 * 3600
ENDED_FORMAT = "mtr-ended/1"


@dataclass(frozen=True, slots=True)
class Ended:
    """How a job was when the dashboard last saw it ended."""

    status: str
    completed_at: datetime | None
    failed_items: int | None  # None when Meteroid's count could not be read
    failure_count: int | None

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)


def _count(value: object) -> int | None:
    return value if type(value) is int else None


class Client(Protocol):
    """What the gateway needs of a client (`MeteroidClient`, or a stand-in in tests)."""

    base_url: str

    @property
    def key_fingerprint(self) -> str: ...

    def list_jobs(
        self, *, job_type: str | None = None, statuses: Sequence[str] = (), page: int = 0, per_page: int = 10
    ) -> JobList: ...

    def get_job(self, job_id: str) -> JobDetail: ...

    def list_failures(
        self, job_id: str, *, limit: int = 25, offset: int = 0, chunk_id: str | None = None
    ) -> FailurePage: ...

    def list_failure_columns(self, job_id: str, *, limit: int = 25, offset: int = 0) -> FailureColumns: ...

    def open_file(self, url: str, *, default_filename: str = "download") -> FileDownload: ...


class Gateway:
    """Cached access to Meteroid. Thread-safe; `calls`, `hits` and `stale` count upstream
    calls, answers served without one, and old copies served because Meteroid failed,
    through this instance (for tests and benchmarks)."""

    def __init__(self, client: Client, *, is_sandbox: bool = False) -> None:
        self.client = client
        self.base_url = client.base_url
        self.is_sandbox = is_sandbox
        self.scope = cache.scope_key(client.base_url, client.key_fingerprint)
        self.calls = 0
        self.hits = 0
        self.stale = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Gateway({self.base_url!r}, sandbox={self.is_sandbox})"

    def jobs(
        self,
        *,
        job_type: str | None = None,
        statuses: Sequence[str] = (),
        page: int = 0,
        per_page: int = 25,
        refresh: bool = False,
    ) -> JobList:
        """One page of jobs, newest first; cached briefly. `refresh` asks Meteroid even when
        the cached copy is fresh."""
        query = {"job_type": job_type, "status": list(statuses), "page": page, "per_page": per_page}
        return self._cached(
            JOBS_PATH,
            query,
            JobList,
            cache.lifetime("jobs"),
            lambda: self.client.list_jobs(
                job_type=job_type, statuses=tuple(statuses), page=page, per_page=per_page
            ),
            refresh=refresh,
        )

    def jobs_since(
        self, since: datetime | None, *, job_type: str | None = None, per_page: int = 100
    ) -> Iterator[Job]:
        """The jobs created at or after `since` (every job, for None), newest first, read
        page after page of the list (each page cached as `jobs` caches it) until past it.
        With a window, a job whose creation time cannot be read is left out: it cannot be
        placed in one. Raises MeteroidError as `jobs` does."""
        page = 0
        while True:
            listing = self.jobs(job_type=job_type, page=page, per_page=per_page)
            for job in listing.jobs:
                if since is not None and job.created_at is None:
                    continue
                if since is not None and job.created_at < since:
                    return
                yield job
            page += 1
            if not listing.jobs or page >= listing.pagination.total_pages:
                return

    def job(self, job_id: str, *, refresh: bool = False) -> JobDetail:
        """One job's detail; cached long once it is completed or cancelled, a minute once it
        failed or completed with errors (a retry can reopen it), a few seconds while active."""

        def fetch() -> JobDetail:
            detail = self.client.get_job(job_id)
            if detail.is_terminal:
                self._note_ended(detail)
            return detail

        return self._cached(
            job_path(job_id),
            {},
            JobDetail,
            lambda detail: cache.lifetime("job", detail),
            fetch,
            refresh=refresh,
        )

    def reopened(self, job: Job) -> Ended | None:
        """How an active job was when last seen ended, if it was: it has been retried since
        (Meteroid reopens a failed job to run its failed chunks again). None otherwise."""
        if job.is_terminal:
            return None
        try:
            entry = django_cache.get(self._ended_key(job.id))
        except Exception:
            logger.warning("Cache read failed; a reopened job is shown as any running job", exc_info=True)
            return None
        if not (isinstance(entry, tuple) and len(entry) == 5 and entry[0] == ENDED_FORMAT):
            return None
        _, status, completed_at, failed_items, failure_count = entry
        try:
            when = datetime.fromisoformat(completed_at) if completed_at else None
        except (TypeError, ValueError):
            when = None
        return Ended(str(status), when, _count(failed_items), _count(failure_count))

    def _note_ended(self, job: JobDetail) -> None:
        # Plain values, not a record: an entry must outlive the class it was made from.
        entry = (
            ENDED_FORMAT,
            job.status,
            job.completed_at.isoformat() if job.completed_at else None,
            job.failed_items,
            job.failure_count,
        )
        try:
            django_cache.set(self._ended_key(job.id), entry, ENDED_SEEN_SECONDS)
        except Exception:
            logger.warning("Cache write failed; a reopened job may not be recognised", exc_info=True)

    def _ended_key(self, job_id: str) -> str:
        return cache.fingerprinted_key(
            self.base_url, self.client.key_fingerprint, job_path(job_id), {"seen": "ended"}
        )

    def failures(
        self,
        job: JobDetail,
        *,
        limit: int,
        offset: int,
        chunk_id: str | None = None,
        refresh: bool = False,
    ) -> FailurePage:
        """One page of a job's failures, kept under the job's state (`job_state_key`): never
        served for another state of the job, as long as its status allows for this one."""
        return self._cached(
            failures_path(job.id),
            {"limit": limit, "offset": offset, "chunk_id": chunk_id, "state": cache.job_state_key(job)},
            FailurePage,
            cache.lifetime("failures", job),
            lambda: self.client.list_failures(job.id, limit=limit, offset=offset, chunk_id=chunk_id),
            refresh=refresh,
        )

    def open_file(self, url: str, *, default_filename: str = "download") -> FileDownload:
        """Stream a file a job detail links to (never cached)."""
        self._count(hit=False)
        return self.client.open_file(url, default_filename=default_filename)

    def stats(self) -> dict[str, int]:
        """Upstream calls, cache hits and stale copies served so far."""
        with self._lock:
            return {"calls": self.calls, "hits": self.hits, "stale": self.stale}

    def _cached[T](
        self,
        path: str,
        query: Mapping[str, cache.QueryValue],
        expect: type[T],
        lifetime: int | Callable[[T], int],
        fetch: Callable[[], T],
        *,
        refresh: bool,
    ) -> T:
        key = cache.fingerprinted_key(self.base_url, self.client.key_fingerprint, path, query)

        def counted_fetch() -> T:
            self._count(hit=False)
            token = cache_use.set("miss")
            try:
                return fetch()
            finally:
                cache_use.reset(token)

        fetched = cache.get_or_fetch(
            key, lifetime, counted_fetch, expect=expect, refresh=refresh, scope=self.scope
        )
        if fetched.hit:
            self._count(hit=True, stale=fetched.stale is not None)
            use = "stale" if fetched.stale is not None else "hit"
            logger.info(
                "Meteroid GET %s served from the cache%s",
                path,
                " (an old copy: Meteroid failed)" if use == "stale" else "",
                extra={"meteroid_method": "GET", "meteroid_path": path, "meteroid_cache": use},
            )
        freshness.note(fetched.stale)
        return fetched.value

    def _count(self, *, hit: bool, stale: bool = False) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.calls += 1
            if stale:
                self.stale += 1


_lock = threading.Lock()
_sandbox_url: Callable[[], str] | None = None
_gateway: Gateway | None = None
_gateway_config: tuple | None = None


def use_sandbox(base_url: Callable[[], str]) -> None:
    """Where the built-in sandbox listens, asked when the gateway is built: the sandbox's app
    registers it when it is enabled (dashboard/sandbox/apps.py)."""
    global _sandbox_url
    _sandbox_url = base_url


def get_gateway() -> Gateway:
    """The process-wide gateway, built from settings: Meteroid itself when METEROID_API_KEY
    is set, else the built-in sandbox. Rebuilt when those settings change (tests)."""
    global _gateway, _gateway_config
    is_sandbox = not settings.METEROID_API_KEY
    if is_sandbox:
        if _sandbox_url is None:
            raise ImproperlyConfigured(
                "Without METEROID_API_KEY the dashboard runs on its sandbox, whose app is not installed."
            )
        base_url, api_key = _sandbox_url(), settings.SANDBOX_API_KEY
    else:
        base_url, api_key = settings.METEROID_BASE_URL, settings.METEROID_API_KEY
    config = (
        base_url,
        api_key,
        settings.METEROID_CONNECT_TIMEOUT,
        settings.METEROID_READ_TIMEOUT,
        settings.METEROID_MAX_RETRIES,
        settings.METEROID_MAX_RETRY_WAIT,
        settings.METEROID_MAX_CONCURRENCY,
    )
    with _lock:
        if _gateway is None or _gateway_config != config:
            # The replaced gateway is not closed: another thread may still be using it.
            client = MeteroidClient(
                base_url,
                api_key,
                connect_timeout=settings.METEROID_CONNECT_TIMEOUT,
                read_timeout=settings.METEROID_READ_TIMEOUT,
                max_retries=settings.METEROID_MAX_RETRIES,
                max_retry_wait=settings.METEROID_MAX_RETRY_WAIT,
                # A kept connection for every request the budget lets run at once, or the
                # ones beyond the pool would be opened for one request and dropped.
                pool_maxsize=max(DEFAULT_POOL_SIZE, settings.METEROID_MAX_CONCURRENCY),
                budget=Budget(
                    cache.scope_key(base_url, cache.key_fingerprint(api_key)),
                    max_in_flight=settings.METEROID_MAX_CONCURRENCY,
                    # A request waits for a slot no longer than for an answer.
                    slot_wait=settings.METEROID_CONNECT_TIMEOUT + settings.METEROID_READ_TIMEOUT,
                    max_pause_wait=settings.METEROID_MAX_RETRY_WAIT,
                ),
            )
            _gateway, _gateway_config = Gateway(client, is_sandbox=is_sandbox), config
        return _gateway


def reset_gateway() -> None:
    """Forget the process-wide gateway (tests), closing its connections."""
    global _gateway, _gateway_config
    with _lock:
        if _gateway is not None and isinstance(_gateway.client, MeteroidClient):
            _gateway.client.close()
        _gateway, _gateway_config = None, None
