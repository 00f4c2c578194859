"""The sandbox exists only where it belongs: with no METEROID_API_KEY (the dashboard runs on
it), or with SANDBOX_ENABLED=True. Elsewhere /sandbox/ is a 404 and no module of the sandbox
is imported, so its fake API and its 250,000-row files are not there to be asked for.

Each case starts a fresh interpreter: what a process imports is decided at its start."""

from __future__ import annotations

import json
import os

import pytest

from tests.support.django_process import environment, manage, python

SANDBOX_KEY = "pv_sand_mount0000000000000000"

# Loads the whole URL configuration (every view module it names) and the WSGI application,
# asks for the sandbox's job list with its key, and reports which sandbox modules got imported.
PROBE = f"""
import json, sys
from django.core.wsgi import get_wsgi_application
from django.test import Client
from django.urls import get_resolver

get_wsgi_application()
get_resolver().url_patterns
response = Client().get(
    "/sandbox/api/v1/batch-jobs", HTTP_AUTHORIZATION="Bearer {SANDBOX_KEY}", HTTP_HOST="127.0.0.1"
)
print(json.dumps({{
    "status": response.status_code,
    "json": response.get("Content-Type", "").startswith("application/json"),
    "modules": sorted(name for name in sys.modules if name.startswith("dashboard.sandbox")),
}}))
"""


def _run(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("METEROID_", "SANDBOX_"))}
    result = python(
        PROBE,
        env={
            **base,
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SANDBOX_API_KEY": SANDBOX_KEY,
            "LOG_LEVEL": "ERROR",
            **env,
        },
        setup=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_is_a_404_and_never_imported_on_a_real_meteroid():
    seen = _run(METEROID_API_KEY="pv_live_mount0000000000000000", METEROID_BASE_URL="http://127.0.0.1:9")
    assert seen["status"] == 404
    assert seen["modules"] == []


def test_it_is_served_when_the_dashboard_runs_on_it():
    seen = _run()
    assert seen["status"] == 200 and seen["json"]
    assert "dashboard.sandbox.api.views" in seen["modules"]


def test_sandbox_enabled_serves_it_beside_a_real_meteroid():
    seen = _run(
        METEROID_API_KEY="pv_live_mount0000000000000000",
        METEROID_BASE_URL="http://127.0.0.1:9",
        SANDBOX_ENABLED="True",
    )
    assert seen["status"] == 200 and seen["json"]


def _refused(env: dict[str, str]) -> str:
    """What start-up says when it refuses: one line, no traceback."""
    result = manage("check", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_sandbox_enabled_false_without_a_key_stops_start_up():
    env = {k: v for k, v in environment().items() if not k.startswith(("METEROID_", "SANDBOX_"))}
    assert "SANDBOX_ENABLED" in _refused({**env, "SANDBOX_ENABLED": "False"})


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_a_malformed_sandbox_enabled_is_named(value):
    assert _refused(environment(SANDBOX_ENABLED=value)).startswith(
        "Cannot start: Environment variable SANDBOX_ENABLED "
    )
