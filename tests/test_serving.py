"""The dashboard served as users run it: gunicorn with any worker and thread count, on the
sandbox, with no deadlock between a page and the Meteroid calls it makes."""

from __future__ import annotations

import re

import pytest
import requests

from dashboard.sandbox.data import SHOWCASE
from tests.support.django_process import checked, environment, manage, python
from tests.support.gunicorn import Gunicorn
from tests.support.net import free_port


@pytest.fixture
def served(tmp_path):
    """Start gunicorn with the given options; yields a function that returns a logged-in session."""
    servers: list[Gunicorn] = []
    env = environment(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", LOG_LEVEL="WARNING")
    env.pop("METEROID_API_KEY", None)
    checked(manage("migrate", "--noinput", env=env))
    code = "from django.contrib.auth.models import User; User.objects.create_user('ops', password='long enough pass 1')"
    checked(python(code, env=env))

    def start(*options: str, own_sandbox_as_meteroid: bool = False) -> tuple[requests.Session, str]:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc_env = dict(env)
        if own_sandbox_as_meteroid:
            proc_env |= {
                "METEROID_API_KEY": "pv_sand_demo0000000000000000",
                "METEROID_BASE_URL": f"{base}/sandbox",
                # With a key set, /sandbox/ is served only when asked for.
                "SANDBOX_ENABLED": "True",
            }
        server = Gunicorn(proc_env, port=port, options=options, log_path=tmp_path / f"gunicorn-{port}.log")
        servers.append(server.start())
        server.wait_ready(timeout=30)
        session = requests.Session()
        login = session.get(f"{base}/accounts/login/", timeout=5)
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
    for server in servers:
        server.stop()


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
