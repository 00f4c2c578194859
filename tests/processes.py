"""Dashboards as separate gunicorn processes on loopback ports, for the tests and benchmarks
that need real processes: several dashboards sharing one Redis and one database, in front of
one sandbox process that stands in for Meteroid (and counts the calls it gets)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_KEY = "pv_sand_processes000000000000"
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One gunicorn serving the dashboard (and its /sandbox/) on a loopback port."""

    port: int
    env: dict[str, str]
    workers: int = 1
    threads: int = 8
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "dashboard.wsgi",
                "--bind", f"127.0.0.1:{self.port}",
                "--workers", str(self.workers), "--threads", str(self.threads),
                "--worker-class", "gthread", "--timeout", "60", "--graceful-timeout", "2",
                "--log-level", "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        return self

    def wait_ready(self, path: str = "/accounts/login/", timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on {self.port} exited: {self.process.stderr.read()[-2000:]}")
            try:
                requests.get(self.url + path, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn on {self.port} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@dataclass
class Stack:
    """A sandbox process and dashboards pointed at it, sharing a cache and a database."""

    base_env: dict[str, str]
    sandbox: Server
    dashboards: list[Server] = field(default_factory=list)

    @property
    def sandbox_url(self) -> str:
        return f"{self.sandbox.url}/sandbox"

    def calls(self) -> dict[str, int]:
        """Requests the sandbox has served, by kind, since the last reset."""
        response = requests.get(
            f"{self.sandbox_url}/_stats", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=5
        )
        response.raise_for_status()
        return response.json()

    def reset_calls(self) -> None:
        requests.post(
            f"{self.sandbox_url}/_stats/reset", headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=5
        ).raise_for_status()

    def replace_sandbox(self, **env: str) -> None:
        """Stop the sandbox and start another on the same port, with `env` added."""
        self.sandbox.stop()
        self.sandbox = Server(self.sandbox.port, {**self.sandbox.env, **env}, threads=16).start()
        self.sandbox.wait_ready("/sandbox/_stats")

    def login(self, dashboard: Server, username: str = "support") -> requests.Session:
        """A browser session logged in through the login form (sessions live in the shared
        database, so it is good on every dashboard)."""
        session = requests.Session()
        form = session.get(f"{dashboard.url}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, "no CSRF token in the login form"
        response = session.post(
            f"{dashboard.url}/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": f"{dashboard.url}/accounts/login/"},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]
        return session

    def add_dashboard(self, *, workers: int = 1, threads: int = 8, **env: str) -> Server:
        """Start one more dashboard like the others, with `env` added."""
        dashboard = Server(free_port(), {**self.dashboards[0].env, **env}, workers=workers, threads=threads)
        self.dashboards.append(dashboard.start())
        dashboard.wait_ready()
        return dashboard

    def stop(self) -> None:
        for server in [*self.dashboards, self.sandbox]:
            server.stop()


def start_stack(
    tmp: Path, *, cache_url: str, dashboards: int = 2, workers: int = 1, threads: int = 8, **env: str
) -> Stack:
    """Migrate a database in `tmp`, make a login, start a sandbox and `dashboards` gunicorns."""
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("METEROID_", "SANDBOX_", "DJANGO_", "CACHE_", "DATABASE_"))
    }
    base_env |= {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "CACHE_URL": cache_url,
        "SECRET_KEY": "processes-test-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SANDBOX_API_KEY": SANDBOX_KEY,
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=base_env, check=True
    )
    subprocess.run(
        [
            sys.executable, "manage.py", "shell", "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user('support', password={PASSWORD!r})",
        ],
        cwd=ROOT, env=base_env, check=True,
    )  # fmt: skip
    sandbox = Server(
        free_port(), {**base_env, **{k: v for k, v in env.items() if k.startswith("SANDBOX_")}}, threads=16
    )
    stack = Stack(base_env, sandbox.start())
    dashboard_env = {
        **base_env,
        "METEROID_BASE_URL": stack.sandbox_url,
        "METEROID_API_KEY": SANDBOX_KEY,
        **{k: v for k, v in env.items() if not k.startswith("SANDBOX_")},
    }
    stack.dashboards = [
        Server(free_port(), dashboard_env, workers=workers, threads=threads).start()
        for _ in range(dashboards)
    ]
    try:
        stack.sandbox.wait_ready("/sandbox/_stats")
        for dashboard in stack.dashboards:
            dashboard.wait_ready()
    except Exception:
        stack.stop()
        raise
    return stack
