"""The dashboard served as users run it: gunicorn with any worker and thread count and an index
worker beside it, on the sandbox, with no deadlock between a page and the Meteroid calls it
makes, nor between the worker's scan and a sandbox served by the dashboard itself."""

from __future__ import annotations

import re

import pytest
import requests

from dashboard.sandbox.world.data import SHOWCASE
from tests.support.django_process import checked, environment, manage, python
from tests.support.gunicorn import Gunicorn
from tests.support.helpers import wait_until
from tests.support.net import free_port
from tests.support.worker import Worker


@pytest.fixture
def served(tmp_path):
    """Start gunicorn with the given options, and an index worker on the same settings; yields
    a function that returns a logged-in session."""
    servers: list[Gunicorn | Worker] = []
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
        servers.append(Worker(proc_env, tmp_path / f"worker-{port}.log").start().wait_ready())
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


def _chunk_list(session: requests.Session, url: str) -> str:
    """The job page at `url` once the worker has read every failure for its chunk list."""

    def scanned() -> str | None:
        page = session.get(url, timeout=20)
        assert page.status_code == 200
        return None if "Reading every failure" in page.text else page.text

    return wait_until(scanned, timeout=60, what=f"the chunk list of {url}")


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
    assert re.search(r"All chunks \(\d+ with failures\)", _chunk_list(session, f"{base}/jobs/{job}/"))


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
    # The worker reads every failure from that /sandbox/ too, while the dashboard serves pages.
    assert re.search(
        r"All chunks \(\d+ with failures\)", _chunk_list(session, f"{base}/jobs/{SHOWCASE['customers']}/")
    )
