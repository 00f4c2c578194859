"""Caching of Meteroid's answers: the keys, the lifetimes, and get-or-fetch.

Keys name everything that changes an answer (base URL, which key asked, path, query and the
record format), so two tenants or two record versions never share an entry. Lifetimes come
from the data, decided in `lifetime()` alone. Only parsed successes are stored: an error is
never cached, so a page recovers as soon as Meteroid does.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

from django.conf import settings
from django.core.cache import cache

from .records import RECORD_VERSION, Job

logger = logging.getLogger("dashboard.meteroid")


CacheKind = Literal["jobs", "job", "failures"]
# The job list changes whenever a job starts or moves on: keep it briefly.
JOB_LIST_SECONDS = 10
# An active job's counts and failures grow while people watch: a few seconds only.
ACTIVE_JOB_SECONDS = 5

QueryValue = str | int | Sequence[str] | None


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


def lifetime(kind: CacheKind, job: Job | None = None) -> int:
    """How long, in seconds, an answer may be served from the cache.

    `jobs` (the list) is short-lived. A `job` or its `failures` live long
    (METEROID_CACHE_SECONDS) once the job is terminal, since it never changes again, and a
    few seconds while it is active (or when its status is not known).
    """
    if kind == "jobs":
        return JOB_LIST_SECONDS
    if kind not in ("job", "failures"):
        raise ValueError(f"unknown cache kind {kind!r}")
    if job is not None and job.is_terminal:
        return int(settings.METEROID_CACHE_SECONDS)
    return ACTIVE_JOB_SECONDS


_MISSING = object()


def get_or_fetch[T](key: str, lifetime: int | Callable[[T], int], fetch: Callable[[], T]) -> tuple[T, bool]:
    """The cached value under `key`, else `fetch()`'s result, stored for `lifetime` seconds.

    `lifetime` may be a function of the fetched value (a job's lifetime depends on the status
    it comes back with). Returns `(value, was_hit)`. Exceptions from `fetch` pass through and
    nothing is stored. A failing cache backend is logged and bypassed: the page still works,
    only slower.
    """
    try:
        value = cache.get(key, _MISSING)
    except Exception:
        logger.warning("Cache read failed; asking Meteroid instead", exc_info=True)
        value = _MISSING
    if value is not _MISSING:
        return value, True  # type: ignore[return-value]

    value = fetch()
    seconds = lifetime(value) if callable(lifetime) else lifetime
    if seconds > 0:
        try:
            cache.set(key, value, seconds)
        except Exception:
            logger.warning("Cache write failed; the answer is served uncached", exc_info=True)
    return value, False
