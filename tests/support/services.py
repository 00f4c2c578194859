"""The real services some tests use: Redis and PostgreSQL.

A test that needs one calls `require_*`: on a developer machine without the service it is
skipped; with CI_REQUIRE_SERVICES=1 (as CI sets it) it fails instead, so that a CI run can
never pass by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def postgres_database(prefix: str = "test") -> Iterator[str]:
    """The URL of a database of its own, made here and dropped after, on the PostgreSQL of
    the run's settings (the PostgreSQL pass: DATABASE_URL=postgres://…), for processes that
    must see what each other wrote, which a test's transaction would hide. Skips the test on
    the SQLite pass."""
    import psycopg
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("runs on the PostgreSQL pass")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    params = {
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    auth = database.get("USER") or ""
    if database.get("PASSWORD"):
        auth += f":{database['PASSWORD']}"
    try:
        yield f"postgres://{auth}@{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_cache() -> None:
    """Empty the default cache. On Redis only this run's keys go (by their prefix), never the
    whole database, which other runs may be using."""
    from django.core.cache import cache, caches

    from dashboard.index import status
    from dashboard.pages import rendered

    rendered.local.clear()
    status.forget_published()
    backend = caches["default"]
    if type(backend).__module__ + "." + type(backend).__qualname__ != REDIS_BACKEND:
        cache.clear()
        return
    if not backend.key_prefix:
        raise RuntimeError("Tests on Redis need a KEY_PREFIX (CACHE_URL=redis://…?key_prefix=…).")
    client = backend._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{backend.key_prefix}:*", count=500):
        client.delete(key)
