"""Caching of Meteroid's answers: keys, lifetimes, one fetch per page, and copies for bad days.

Keys name everything that changes an answer (base URL, which key asked, path, query and the
record format), so two tenants or two record versions never share an entry. Lifetimes come
from the data, decided in `lifetime()` alone. Only parsed successes are stored: an error is
never cached, so a page recovers as soon as Meteroid does.

`get_or_fetch` adds three things to a plain get-or-set, all through Django's cache so that
they hold across processes and machines when the cache is shared (Redis):

- **Single flight.** However many ask for the same missing page at once, one fetch goes
  upstream: threads of a process wait on the first one's flight, and processes wait on a lock
  in the cache (`cache.add`, with a timeout, so that a holder that died blocks nobody for
  long), polling the cache for its answer for a bounded time; never past the request's own
  deadline (deadline.py), where the wait ends as a slow answer would.
- **Stale beats broken.** An entry outlives its lifetime by `METEROID_CACHE_STALE_SECONDS`.
  When a fetch fails in a way that retrying could fix (timeout, 5xx, 429, unreachable), the
  old copy is returned instead, marked `Stale` with its age and the reason. For a few seconds
  after such a failure, pages that have a copy are served it without asking Meteroid again.
- **Versioned entries.** An entry is an envelope of a known format holding a value of the
  expected type; anything else under a key (an older release's entry, garbage that does not
  unpickle) is ignored and replaced, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache

from . import deadline
from .errors import ErrorKind, MeteroidError
from .records import RECORD_VERSION, Job, JobDetail

logger = logging.getLogger("dashboard.meteroid")


CacheKind = Literal["jobs", "job", "failures"]
QueryValue = str | int | Sequence[str] | None

# The envelope every entry is stored in: (ENTRY_FORMAT, stored_at, fresh_until, value).
ENTRY_FORMAT = "mtr-entry/1"
# A lock older than this is presumed to belong to a fetch that died; the next asker fetches.
FLIGHT_LOCK_SECONDS = 30.0
# The longest a request waits for another's fetch before asking Meteroid itself.
FLIGHT_WAIT_SECONDS = 30.0
# Waiters poll the cache for the answer, first often, then less.
FLIGHT_POLL_FIRST = 0.01
FLIGHT_POLL_MAX = 0.1
# How long a failed fetch's error is kept for those who were waiting on it.
FAILURE_SHARE_SECONDS = 5
# After a failure, pages that have a copy are served it without asking again for this long.
OUTAGE_SECONDS = 5
# Ended statuses that never change again. A FAILED or COMPLETED_WITH_ERRORS job can be retried
# in Meteroid's web app: it reopens (PROCESSING, completed_at null) and ends again, differently.
FINAL_STATUSES = ("COMPLETED", "CANCELLED")


def key_fingerprint(api_key: str) -> str:
    """A short, stable name for an API key (sha256, first 16 hex digits): tells keys
    apart without revealing them."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


def cache_key(base_url: str, api_key: str, path: str, query: Mapping[str, QueryValue]) -> str:
    """The cache key of one API answer; holds no key material, and is memcached-safe."""
    return fingerprinted_key(base_url, key_fingerprint(api_key), path, query)


def fingerprinted_key(base_url: str, fingerprint: str, path: str, query: Mapping[str, QueryValue]) -> str:
    """`cache_key` for a caller that holds only the key's fingerprint."""
    material = json.dumps(
        {
            "base": base_url.rstrip("/"),
            "key": fingerprint,
            "path": path,
            "query": _normalise(query),
            "records": RECORD_VERSION,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    # A fixed-length hex digest: any base URL or query fits memcached's 250-byte key rule.
    return f"mtr:v{RECORD_VERSION}:{hashlib.sha256(material.encode()).hexdigest()}"


def scope_key(base_url: str, fingerprint: str) -> str:
    """A name for one Meteroid as one API key sees it: the scope of an outage or a pause."""
    return hashlib.sha256(f"{base_url.rstrip('/')}|{fingerprint}".encode()).hexdigest()[:32]


def _normalise(query: Mapping[str, QueryValue]) -> list[tuple[str, list[str]]]:
    """Sorted names, sorted repeated values; absent values (None, "", ()) dropped, since
    the API treats them as not given."""
    items = []
    for name in sorted(query):
        value = query[name]
        if value is None:
            continue
        values = [value] if isinstance(value, str | int) else list(value)
        values = sorted(str(v) for v in values if v is not None and str(v) != "")
        if values:
            items.append((name, values))
    return items


def is_final(job: Job) -> bool:
    """Whether the job can never change again (completed or cancelled)."""
    return job.status in FINAL_STATUSES


def job_state_key(job: JobDetail) -> str:
    """The job's state as Meteroid last described it, as a short key: what everything built
    from its failures (pages of failures, the scan, reason groups, rendered pages, exports)
    is kept under, so that a copy serves that state alone.

    It names what a retry changes (status, `completed_at`, the counts, the files) and nothing
    that changes without the failures changing (the file links' tokens are fresh on every
    fetch). Two descriptions of a job with the same key have the same failures.
    """
    material = json.dumps(
        [
            job.id,
            job.status,
            job.completed_at.isoformat() if job.completed_at else None,
            job.processed_items,
            job.failed_items,
            job.total_items,
            job.failure_count,
            job.has_error_csv,
            job.has_output,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def lifetime(kind: CacheKind, job: Job | None = None) -> int:
    """How long, in seconds, an answer is served from the cache without asking again.

    `jobs` (the list) lives METEROID_CACHE_LIST_SECONDS. A `job` lives
    METEROID_CACHE_TERMINAL_SECONDS once it is completed or cancelled, since it never changes
    again, METEROID_CACHE_REOPENABLE_SECONDS once it has failed or completed with errors
    (a retry can reopen it), and METEROID_CACHE_ACTIVE_SECONDS while it is active (or when its
    status is not known). Its `failures` are kept under its state (`job_state_key`), so they
    live METEROID_CACHE_TERMINAL_SECONDS once it has ended however it ended: a retry changes
    the state, and the pages of the old one are no longer asked for.
    """
    if kind == "jobs":
        return int(settings.METEROID_CACHE_LIST_SECONDS)
    if kind not in ("job", "failures"):
        raise ValueError(f"unknown cache kind {kind!r}")
    if job is None or not job.is_terminal:
        return int(settings.METEROID_CACHE_ACTIVE_SECONDS)
    if kind == "job" and not is_final(job):
        return int(settings.METEROID_CACHE_REOPENABLE_SECONDS)
    return int(settings.METEROID_CACHE_TERMINAL_SECONDS)


@dataclass(frozen=True, slots=True)
class Stale:
    """Why an old copy is shown instead of Meteroid's answer, and how old it is."""

    fetched_at: float  # when the copy was fetched (seconds since the epoch)
    reason: str  # the error's message, fit for a person
    kind: ErrorKind

    @property
    def age(self) -> float:
        """Seconds since the copy was fetched."""
        return max(0.0, time.time() - self.fetched_at)


@dataclass(frozen=True, slots=True)
class Fetched[T]:
    """An answer, and how it was had: `hit` when this caller sent no request for it;
    `stale` when Meteroid failed and this is an older copy."""

    value: T
    hit: bool
    stale: Stale | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    stored_at: float
    fresh_until: float
    value: Any


def get_or_fetch[T](
    key: str,
    lifetime: int | Callable[[T], int],
    fetch: Callable[[], T],
    *,
    expect: type | tuple[type, ...] | None = None,
    refresh: bool = False,
    scope: str | None = None,
) -> Fetched[T]:
    """The fresh cached value under `key`, else `fetch()`'s result, stored for `lifetime`
    seconds (plus METEROID_CACHE_STALE_SECONDS as a copy for bad days).

    `lifetime` may be a function of the fetched value (a job's lifetime depends on the status
    it comes back with); 0 stores nothing. A cached value that is not an `expect` is ignored.
    `refresh` skips a fresh entry (but still shares one fetch with whoever asks at once).
    `scope` names the Meteroid the key belongs to (`scope_key`): after a failure there, pages
    with a copy are served it for OUTAGE_SECONDS without a call.

    A retryable `MeteroidError` from `fetch` returns the last copy, marked `stale`, if there
    is one; other errors, and a retryable one with no copy, pass through, and nothing is
    stored. A failing cache backend is logged and bypassed: the page still works, only slower.
    """
    started = time.time()
    entry = _read(key, expect)
    if entry is not None and not refresh:
        if started < entry.fresh_until:
            return Fetched(entry.value, hit=True)
        outage = _read_outage(scope) if scope else None
        if outage is not None:
            return Fetched(entry.value, hit=True, stale=Stale(entry.stored_at, outage.message, outage.kind))
    try:
        value, fetched = _single_flight(key, lifetime, fetch, expect, refresh=refresh, started=started)
    except MeteroidError as error:
        if not error.retryable:
            raise
        if scope:
            _note_outage(scope, error)
        if entry is None:
            raise
        return Fetched(entry.value, hit=True, stale=Stale(entry.stored_at, error.message, error.kind))
    if fetched and scope:
        _clear_outage(scope)
    return Fetched(value, hit=not fetched)


# --- entries ---------------------------------------------------------------------------------


def _read(key: str, expect: type | tuple[type, ...] | None) -> _Entry | None:
    """The entry under `key` if it is one this release can use, else None."""
    try:
        raw = cache.get(key)
    except Exception:
        # A backend that is down, or an entry that no longer unpickles (a class moved or
        # changed between releases): either way, ask Meteroid and overwrite it.
        logger.warning("Cache read failed; asking Meteroid instead", exc_info=True)
        return None
    if raw is None:
        return None
    if (
        isinstance(raw, tuple)
        and len(raw) == 4
        and raw[0] == ENTRY_FORMAT
        and isinstance(raw[1], float)
        and isinstance(raw[2], float)
        and (expect is None or isinstance(raw[3], expect))
    ):
        return _Entry(raw[1], raw[2], raw[3])
    logger.warning("Ignoring a cache entry of another format under %s", key)
    return None


def _store[T](key: str, value: T, lifetime: int | Callable[[T], int]) -> None:
    seconds = lifetime(value) if callable(lifetime) else lifetime
    if seconds <= 0:
        return
    now = time.time()
    try:
        cache.set(
            key, (ENTRY_FORMAT, now, now + seconds, value), seconds + settings.METEROID_CACHE_STALE_SECONDS
        )
    except Exception:
        logger.warning("Cache write failed; the answer is served uncached", exc_info=True)


# --- single flight ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Flight:
    """One fetch in this process that other threads wait on."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


_flights: dict[str, _Flight] = {}
_flights_lock = threading.Lock()


def _single_flight[T](
    key: str,
    lifetime: int | Callable[[T], int],
    fetch: Callable[[], T],
    expect: type | tuple[type, ...] | None,
    *,
    refresh: bool,
    started: float,
) -> tuple[T, bool]:
    """(value, fetched by this caller). Threads of this process share one flight; the
    flight's leader coordinates with other processes through the cache."""
    with _flights_lock:
        flight = _flights.get(key)
        leader = flight is None
        if flight is None:
            flight = _flights[key] = _Flight()
    if not leader:
        limit = deadline.current()
        if flight.done.wait(FLIGHT_WAIT_SECONDS if limit is None else limit.cap(FLIGHT_WAIT_SECONDS)):
            if flight.error is not None:
                raise flight.error
            return flight.value, False
        if limit is not None and limit.spent:
            raise limit.error()
        # The leader is stuck (Meteroid slow beyond reason): do not wait on it forever.
        return _across_processes(key, lifetime, fetch, expect, refresh=refresh, started=started)
    try:
        value, fetched = _across_processes(key, lifetime, fetch, expect, refresh=refresh, started=started)
        flight.value = value
        return value, fetched
    except BaseException as exc:
        flight.error = exc
        raise
    finally:
        with _flights_lock:
            if _flights.get(key) is flight:
                del _flights[key]
        flight.done.set()


def _across_processes[T](
    key: str,
    lifetime: int | Callable[[T], int],
    fetch: Callable[[], T],
    expect: type | tuple[type, ...] | None,
    *,
    refresh: bool,
    started: float,
) -> tuple[T, bool]:
    lock_key, failed_key = f"{key}:flight", f"{key}:failed"
    token = uuid.uuid4().hex
    wait_until = time.monotonic() + FLIGHT_WAIT_SECONDS
    limit = deadline.current()

    def usable(entry: _Entry | None) -> bool:
        # A refresh wants an answer fetched since it was asked for; anyone else, a fresh one.
        if entry is None:
            return False
        return entry.stored_at >= started if refresh else time.time() < entry.fresh_until

    while True:
        try:
            holder = cache.add(lock_key, token, FLIGHT_LOCK_SECONDS)
        except Exception:
            logger.warning("Cache lock failed; asking Meteroid without one", exc_info=True)
            value = fetch()
            _store(key, value, lifetime)
            return value, True
        if holder:
            try:
                # Another fetch may have finished between our first look and the lock.
                entry = _read(key, expect)
                if usable(entry):
                    return entry.value, False  # type: ignore[union-attr]
                try:
                    value = fetch()
                except MeteroidError as error:
                    _share_failure(failed_key, error)
                    raise
                _store(key, value, lifetime)
                return value, True
            finally:
                _unlock(lock_key, token)

        # Someone else is fetching this page: wait for their answer (or their failure).
        delay = FLIGHT_POLL_FIRST
        while True:
            if limit is not None and limit.spent:
                raise limit.error()
            if time.monotonic() >= wait_until:
                logger.warning(
                    "Waited %.0f s for another fetch of one page; fetching it here", FLIGHT_WAIT_SECONDS
                )
                value = fetch()
                _store(key, value, lifetime)
                return value, True
            time.sleep(delay if limit is None else limit.cap(delay))
            delay = min(delay * 2, FLIGHT_POLL_MAX)
            entry = _read(key, expect)
            if usable(entry):
                return entry.value, False  # type: ignore[union-attr]
            failure = _read_failure(failed_key, since=started)
            if failure is not None:
                raise failure
            try:
                held = cache.get(lock_key) is not None
            except Exception:
                held = False
            if not held:
                break  # the holder ended without an answer for us, or died: take over


def _unlock(lock_key: str, token: str) -> None:
    # Check-then-delete is not atomic: if our lock expired and another took it in between,
    # theirs goes too. That costs at most one extra fetch, after a 30 s fetch.
    try:
        if cache.get(lock_key) == token:
            cache.delete(lock_key)
    except Exception:
        logger.warning("Cache unlock failed; the lock expires by itself", exc_info=True)


def _share_failure(failed_key: str, error: MeteroidError) -> None:
    record = (time.time(), error.kind.value, error.message, error.status, error.retry_after)
    try:
        cache.set(failed_key, record, FAILURE_SHARE_SECONDS)
    except Exception:
        logger.warning("Cache write failed; waiters will ask Meteroid themselves", exc_info=True)


def _error_of(record: Any) -> tuple[float, MeteroidError] | None:
    try:
        at, kind, message, status, retry_after = record
        return float(at), MeteroidError(ErrorKind(kind), str(message), status=status, retry_after=retry_after)
    except (TypeError, ValueError):
        return None


def _read_failure(failed_key: str, *, since: float) -> MeteroidError | None:
    try:
        record = cache.get(failed_key)
    except Exception:
        return None
    parsed = _error_of(record) if record is not None else None
    if parsed is None or parsed[0] < since:
        return None
    return parsed[1]


# --- outages -----------------------------------------------------------------------------------


def _outage_key(scope: str) -> str:
    return f"mtr:outage:{scope}"


def _note_outage(scope: str, error: MeteroidError) -> None:
    record = (time.time(), error.kind.value, error.message, error.status, error.retry_after)
    try:
        cache.set(_outage_key(scope), record, OUTAGE_SECONDS)
    except Exception:
        logger.warning("Cache write failed; the outage is not shared", exc_info=True)


def _read_outage(scope: str) -> MeteroidError | None:
    try:
        record = cache.get(_outage_key(scope))
    except Exception:
        return None
    parsed = _error_of(record) if record is not None else None
    return parsed[1] if parsed is not None else None


def _clear_outage(scope: str) -> None:
    try:
        cache.delete(_outage_key(scope))
    except Exception:
        logger.warning("Cache delete failed; the outage note expires by itself", exc_info=True)
