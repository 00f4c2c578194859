"""The dashboard served as users run it: gunicorn with any worker and thread count, on the
sandbox, with no deadlock between a page and the Meteroid calls it makes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from dashboard.sandbox.data import SHOWCASE

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120
    )


@pytest.fixture
def served(tmp_path):
    """Start gunicorn with the given options; yields a function that returns a logged-in session."""
    procs: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("METEROID_API_KEY", None)
    _manage(env, "migrate", "--noinput")
    code = "from django.contrib.auth.models import User; User.objects.create_user('ops', password='long enough pass 1')"
    _manage(env, "shell", "-c", code)

    def start(*options: str, own_sandbox_as_meteroid: bool = False) -> tuple[requests.Session, str]:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc_env = dict(env)
        if own_sandbox_as_meteroid:
            proc_env |= {
                "METEROID_API_KEY": "pv_sand_demo0000000000000000",
                "METEROID_BASE_URL": f"{base}/sandbox",
                # With a key set, /sandbox/ is served only when asked for.
                "SANDBOX_ENABLED": "True",
            }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "dashboard.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
                *options,
            ],
            cwd=ROOT,
            env=proc_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        session = requests.Session()
        deadline = time.monotonic() + 30
        while True:
            try:
                login = session.get(f"{base}/accounts/login/", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        response = session.post(
            f"{base}/accounts/login/",
            data={
                "username": "ops",
                "password": "long enough pass 1",
                "csrfmiddlewaretoken": token,
                "next": "/jobs/",
            },
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
        )
        assert response.status_code == 200 and response.url == f"{base}/jobs/"
        return session, base

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize(
    "options",
    [
        ("--workers", "1"),  # one sync worker, one thread: the strictest case
        ("--workers", "2", "--threads", "4", "--worker-class", "gthread"),
    ],
)
def test_gunicorn_serves_pages_on_its_own_sandbox(served, options):
    session, base = served(*options)
    job = SHOWCASE["customers"]
    jobs = session.get(f"{base}/jobs/", timeout=20)
    page = session.get(f"{base}/jobs/{job}/?page=2", timeout=20)
    fragment = session.get(
        f"{base}/jobs/{job}/?page=3", headers={"HX-Request": "true", "HX-Target": "failures"}, timeout=20
    )
    assert (jobs.status_code, page.status_code, fragment.status_code) == (200, 200, 200)
    assert "Failures 26–50 of" in page.text
    assert fragment.text.lstrip().startswith('<section id="failures"')


def test_the_sandbox_at_sandbox_is_a_meteroid_for_the_dashboard_itself(served):
    # METEROID_BASE_URL pointing at the same gunicorn's /sandbox/: needs a spare thread per call.
    session, base = served(
        "--workers",
        "1",
        "--threads",
        "4",
        "--worker-class",
        "gthread",
        own_sandbox_as_meteroid=True,
    )
    page = session.get(f"{base}/jobs/{SHOWCASE['customers']}/", timeout=20)
    assert page.status_code == 200
    assert "Failures 1–25 of" in page.text
    assert "Sandbox data" not in page.text  # it is an external Meteroid as far as the dashboard knows
