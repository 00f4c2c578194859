"""Settings come from the environment; a malformed value stops start-up and names itself."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.django_process import environment, manage, python


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """`manage.py` as an operator runs it, with these variables."""
    return manage(*args, env=environment(**env), timeout=60)


def _start(**env: str) -> subprocess.CompletedProcess:
    return python("from django.conf import settings; print(settings.DEBUG)", env=environment(**env))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("METEROID_READ_TIMEOUT", "soon"),
        ("METEROID_CONNECT_TIMEOUT", "-1"),
        ("METEROID_MAX_RETRIES", "-2"),
        ("SANDBOX_RATE_500", "2"),
        ("SANDBOX_CATALOGUE_ENDS", "last week"),
        ("SCAN_CONCURRENCY", "0"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("CACHE_URL", "nosuchcache://x"),
        ("METEROID_CACHE_TERMINAL_SECONDS", "0"),
        ("METEROID_CACHE_REOPENABLE_SECONDS", "0"),
        ("METEROID_CACHE_STALE_SECONDS", "a day"),
        ("METEROID_MAX_CONCURRENCY", "0"),
        ("REFRESH_INTERVAL_SECONDS", "-1"),
    ],
)
def test_a_malformed_variable_stops_start_up_and_is_named(name, value):
    result = _manage("check", **{name: value})
    assert result.returncode == 1
    # The whole of what the operator reads: one line that names the variable, no traceback
    # (whose source lines would name it too, and prove nothing).
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Cannot start: Environment variable {name} "), lines
    assert "Traceback" not in result.stderr


def test_a_good_environment_passes_the_same_start_up():
    result = _manage("check")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_defaults_start_without_any_variable():
    result = _start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_secure_https_switches_on_every_https_setting():
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    result = python(code, env=environment(SECURE_HTTPS="True"))
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stderr


def test_redis_and_postgres_urls_use_djangos_own_backends():
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.CACHES['default'], settings.DATABASES['default']['ENGINE'], "
        "settings.DATABASES['default']['NAME'], settings.DATABASES['default']['HOST']]))"
    )
    result = python(
        code,
        env=environment(
            CACHE_URL="redis://127.0.0.1:6379/5?key_prefix=dash&timeout=60",
            DATABASE_URL="postgres://dash:secret@db.internal:5432/dashboard",
        ),
    )
    cache, engine, name, host = json.loads(result.stdout)
    assert cache["BACKEND"] == "dashboard.redis_cache.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/5"
    assert (cache["KEY_PREFIX"], cache["TIMEOUT"]) == ("dash", 60)
    assert "key_prefix" not in cache and "key_prefix" not in cache.get("OPTIONS", {})
    assert (engine, name, host) == ("django.db.backends.postgresql", "dashboard", "db.internal")
