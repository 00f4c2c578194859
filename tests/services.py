"""The real services some tests use: Redis and PostgreSQL.

A test that needs one calls `require_*`: on a developer machine without the service it is
skipped; with CI_REQUIRE_SERVICES=1 (as CI sets it) it fails instead, so that a CI run can
never pass by skipping.
"""

from __future__ import annotations

import os

import pytest

# A database of its own, and a key prefix per run (see `redis_cache`), so that the runs of
# several developers on one Redis never meet.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
REDIS_BACKEND = "dashboard.redis_cache.RedisCache"


def require(name: str, problem: str | None) -> None:
    """Skip (or, under CI_REQUIRE_SERVICES, fail) unless `problem` is None."""
    if problem is None:
        return
    if os.environ.get("CI_REQUIRE_SERVICES"):
        pytest.fail(f"{name} is required here (CI_REQUIRE_SERVICES is set): {problem}")
    pytest.skip(f"{name} is not available: {problem}")


def require_redis():
    """A client of the test Redis database."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        require("Redis", f"{REDIS_URL}: {exc}")
    return client


def clear_cache() -> None:
    """Empty the default cache. On Redis only this run's keys go (by their prefix), never the
    whole database, which other runs may be using."""
    from django.core.cache import cache, caches

    from dashboard.pages import rendered

    rendered.local.clear()
    backend = caches["default"]
    if type(backend).__module__ + "." + type(backend).__qualname__ != REDIS_BACKEND:
        cache.clear()
        return
    if not backend.key_prefix:
        raise RuntimeError("Tests on Redis need a KEY_PREFIX (CACHE_URL=redis://…?key_prefix=…).")
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{backend.key_prefix}:*", count=500):
        client.delete(key)
