"""Settings come from the environment; a malformed value stops start-up and names itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _start(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEBUG", "maybe"),
        ("METEROID_READ_TIMEOUT", "soon"),
        ("METEROID_CONNECT_TIMEOUT", "-1"),
        ("METEROID_MAX_RETRIES", "-2"),
        ("SANDBOX_RATE_500", "2"),
        ("SCAN_CONCURRENCY", "0"),
        ("DATABASE_URL", "nosuchdb://x"),
        ("CACHE_URL", "nosuchcache://x"),
    ],
)
def test_a_malformed_variable_stops_start_up_and_is_named(name, value):
    result = _start(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_defaults_start_without_any_variable():
    result = _start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_secure_https_switches_on_every_https_setting():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "SECURE_HTTPS": "True"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True", "True", "True"], result.stderr
