"""Shared fixtures: a logged-in browser session, a clean cache for every test, the cache on
a real Redis server for the tests that ask for it, and a recording stand-in for it; and the
`database` mark on every test that reaches the database."""

from __future__ import annotations

import contextlib
import os
import sys
import uuid

import pytest

from tests.support import services


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The real hasher is slow on purpose; tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clean_cache():
    services.clear_cache()
    yield
    services.clear_cache()


@pytest.fixture(autouse=True)
def _no_retries_asked():
    """Retries asked of the sandbox's control endpoint (kept in the cache): none carries over."""
    from dashboard.sandbox.api import control

    yield
    control.reset()


@pytest.fixture
def redis_cache(settings) -> str:
    """Django's cache on the test Redis database, under a key prefix of this test alone;
    the prefix is returned (keys are `<prefix>:1:<key>`)."""
    services.require_redis()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {"BACKEND": services.REDIS_BACKEND, "LOCATION": services.REDIS_URL, "KEY_PREFIX": prefix}
    }
    yield prefix
    services.clear_cache()


@pytest.fixture
def recording(monkeypatch):
    """The gateway's cache layer on a `RecordingCache`, which remembers each entry's timeout."""
    from dashboard.meteroid import cache
    from tests.support.helpers import RecordingCache

    recording = RecordingCache()
    monkeypatch.setattr(cache, "cache", recording)
    return recording


@pytest.fixture
def clock(monkeypatch):
    """The wall clock of the dashboard and of Django's local-memory cache, to move on with
    `clock.advance(seconds)` rather than sleeping through them (tests/support/helpers.Clock)."""
    from tests.support.helpers import Clock

    return Clock(monkeypatch)


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="support", password="correct horse battery")


@pytest.fixture
def logged_in(client, user):
    """Django's test client, logged in as a support person."""
    client.force_login(user)
    return client


@pytest.fixture
def meteroid(settings):
    """The dashboard pointed at a scripted Meteroid (tests/support/upstream.py), with timeouts and
    retries small enough for tests: two retries, half a second to read. A test in which it
    gave an answer that breaks the contract (and was not scripted to) fails."""
    from dashboard.meteroid.gateway import reset_gateway
    from tests.support.upstream import FAKE_KEY, FakeMeteroid

    fake = FakeMeteroid()
    settings.METEROID_API_KEY = FAKE_KEY
    settings.METEROID_BASE_URL = fake.base_url
    settings.METEROID_CONNECT_TIMEOUT = 0.3
    settings.METEROID_READ_TIMEOUT = 0.5
    settings.METEROID_MAX_RETRIES = 2
    settings.METEROID_MAX_RETRY_WAIT = 1.0
    yield fake
    reset_gateway()
    fake.close()  # fails the test if an answer broke the contract


# pytest-django's fixtures that open the test database: `db`, `transactional_db` and
# `live_server` all stand on `django_db_setup`, as does every fixture made on them (`user`,
# `logged_in`, `django_user_model`, `admin_client`).
DATABASE_FIXTURES = frozenset({"django_db_setup", "db", "transactional_db", "live_server"})


def uses_database(item: pytest.Item) -> bool:
    """Whether a test reaches the database: marked `django_db`, or any of its fixtures, at
    any depth, stands on the test database."""
    fixtures = set(getattr(item, "fixturenames", ()))
    return item.get_closest_marker("django_db") is not None or bool(fixtures & DATABASE_FIXTURES)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Mark `database` every test that reaches the database, decided from what it uses, so
    that the run on PostgreSQL (`-m database`, see the Makefile) misses none of them. First,
    so that `-m` sees the marks."""
    for item in items:
        if uses_database(item):
            item.add_marker(pytest.mark.database)


def pytest_sessionstart(session) -> None:
    """A run on PostgreSQL (DATABASE_URL=postgres://…) needs the server: without it the run
    is skipped on a developer machine, and fails under CI_REQUIRE_SERVICES."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg

    try:
        psycopg.connect(
            dbname="postgres",
            user=database.get("USER") or None,
            password=database.get("PASSWORD") or None,
            host=database.get("HOST") or None,
            port=database.get("PORT") or None,
            connect_timeout=3,
        ).close()
    except psycopg.Error as exc:
        if os.environ.get("CI_REQUIRE_SERVICES"):
            pytest.exit(f"PostgreSQL is required here (CI_REQUIRE_SERVICES is set): {exc}", returncode=1)
        pytest.exit(f"PostgreSQL is not available, skipping this run: {exc}", returncode=0)


def pytest_unconfigure(config) -> None:
    """Remove the static root this run made for itself (tests/support/settings.py), still empty."""
    created = getattr(sys.modules.get("tests.support.settings"), "CREATED_STATIC_ROOT", None)
    if created:
        with contextlib.suppress(OSError):
            os.rmdir(created)
