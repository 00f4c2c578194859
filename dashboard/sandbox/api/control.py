"""Retries asked of the sandbox on demand: the state behind its control endpoint
(`POST /sandbox/control/batch-jobs/{id}/retry`), which is no part of Meteroid's API.

Everything else the sandbox serves is computed from the seed and the clock; a retry asked by a
test is the one thing it has to remember. It is kept in Django's cache, so that every process
of one dashboard (web processes and the index worker, each with its own sandbox server) serves
the same retried job, on a cache they share (Redis, or a file cache on one machine). Two
processes asking a retry at the same instant may lose one; asking is for tests and demos.
"""

from __future__ import annotations

import logging
import threading

from django.core.cache import cache

KEY = "sandbox:control:retries"

logger = logging.getLogger(__name__)

_lock = threading.Lock()


def ask(job_id: str, asked_ms: int, run_ms: int) -> None:
    """Remember a retry of `job_id` asked at `asked_ms` (sandbox clock), running `run_ms`."""
    with _lock:
        retries = asked()
        retries[job_id] = (*retries.get(job_id, ()), (asked_ms, run_ms))
        cache.set(KEY, retries, timeout=None)


def asked() -> dict[str, tuple[tuple[int, int], ...]]:
    """Each job's retries asked so far, in the order they were asked. A cache that cannot be
    read has none to tell: the sandbox serves its jobs as the seed and the clock make them
    (a dashboard whose cache is down still has a Meteroid to talk to)."""
    try:
        return dict(cache.get(KEY) or {})
    except Exception:
        logger.warning("sandbox: retries asked cannot be read from the cache", exc_info=True)
        return {}


def reset() -> None:
    """Forget every retry asked (a cache that cannot be reached holds none to forget)."""
    try:
        cache.delete(KEY)
    except Exception:
        logger.warning("sandbox: retries asked cannot be forgotten in the cache", exc_info=True)
