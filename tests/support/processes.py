"""Dashboards as separate gunicorn processes on loopback ports, for the tests and benchmarks
that need real processes: several dashboards sharing one Redis and one database (SQLite, or
PostgreSQL by its URL), in front of one sandbox process that stands in for Meteroid (and
counts the calls it gets), with index workers beside them that run the scans their pages ask
for."""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.django_process import checked, manage, python
from tests.support.gunicorn import Gunicorn
from tests.support.net import free_port
from tests.support.worker import Worker

__all__ = ["PASSWORD", "SANDBOX_KEY", "Stack", "free_port", "start_stack"]

SANDBOX_KEY = "pv_sand_processes000000000000"
PASSWORD = "correct horse battery staple"


def _gunicorn(
    folder: Path, port: int, env: dict[str, str], *, workers: int = 1, threads: int = 8
) -> Gunicorn:
    """One gunicorn serving the dashboard (and its /sandbox/) on a loopback port, its output
    kept in `folder`."""
    return Gunicorn(
        env, port=port, workers=workers, threads=threads, log_path=folder / f"gunicorn-{port}.log"
    )


@dataclass
class Stack:
    """A sandbox process, dashboards pointed at it and their index workers, sharing a cache
    and a database; their logs in `folder`."""

    base_env: dict[str, str]
    sandbox: Gunicorn
    folder: Path
    dashboards: list[Gunicorn] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    @property
    def worker(self) -> Worker | None:
        """The first index worker (the only one, unless more were asked for)."""
        return self.workers[0] if self.workers else None

    @property
    def database_url(self) -> str:
        return self.base_env["DATABASE_URL"]

    @property
    def database(self) -> Path:
        """The SQLite file of the stack (of a stack on SQLite)."""
        assert self.database_url.startswith("sqlite:///"), self.database_url
        return Path(self.database_url.removeprefix("sqlite:///"))

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """The rows of `sql` (with %s placeholders) on the shared database, read from this
        process on a connection of its own, outside any test transaction."""
        if self.database_url.startswith("sqlite:///"):
            with closing(sqlite3.connect(self.database, timeout=10)) as db:
                return db.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as db:
            return db.execute(sql, params).fetchall()

    def index_status(self, job_id: str) -> str | None:
        """The state of the newest index asked for `job_id` (queued, running, done, failed),
        read from the shared database; None before any was asked."""
        rows = self.query(
            "SELECT status FROM index_indexedjob WHERE job_id = %s ORDER BY id DESC LIMIT 1", (job_id,)
        )
        return rows[0][0] if rows else None

    def worker_of(self, holder: str) -> Worker | None:
        """The index worker of this stack whose process holds the lease `holder` names
        (host:pid:…), if any."""
        return next((w for w in self.workers if w.process and f":{w.pid}:" in holder), None)

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
        self.sandbox = _gunicorn(
            self.folder, self.sandbox.port, {**self.sandbox.env, **env}, threads=16
        ).start()
        self.sandbox.wait_ready("/sandbox/_stats")

    def login(self, dashboard: Gunicorn, username: str = "support") -> requests.Session:
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

    def add_dashboard(self, *, workers: int = 1, threads: int = 8, **env: str) -> Gunicorn:
        """Start one more dashboard like the others, with `env` added."""
        dashboard = _gunicorn(
            self.folder, free_port(), {**self.dashboards[0].env, **env}, workers=workers, threads=threads
        )
        self.dashboards.append(dashboard.start())
        dashboard.wait_ready()
        return dashboard

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for server in [*self.dashboards, self.sandbox]:
            server.stop()


def start_stack(
    tmp: Path,
    *,
    cache_url: str,
    database_url: str | None = None,
    dashboards: int = 2,
    index_workers: int = 1,
    workers: int = 1,
    threads: int = 8,
    **env: str,
) -> Stack:
    """Migrate a database (that of `database_url`, else a SQLite file in `tmp`), make a login,
    start a sandbox, `dashboards` gunicorns (of `workers` processes of `threads` threads) and
    `index_workers` index workers; logs go to `tmp`."""
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("METEROID_", "SANDBOX_", "DJANGO_", "CACHE_", "DATABASE_"))
    }
    base_env |= {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": database_url or f"sqlite:///{tmp / 'db.sqlite3'}",
        "CACHE_URL": cache_url,
        "SECRET_KEY": "processes-test-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SANDBOX_API_KEY": SANDBOX_KEY,
        "LOG_LEVEL": "WARNING",
    }
    checked(manage("migrate", "--noinput", "-v", "0", env=base_env))
    checked(
        python(
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_user('support', password={PASSWORD!r})",
            env=base_env,
        )
    )
    sandbox = _gunicorn(
        tmp,
        free_port(),
        {**base_env, **{k: v for k, v in env.items() if k.startswith("SANDBOX_")}},
        threads=16,
    )
    stack = Stack(base_env, sandbox.start(), tmp)
    dashboard_env = {
        **base_env,
        "METEROID_BASE_URL": stack.sandbox_url,
        "METEROID_API_KEY": SANDBOX_KEY,
        **{k: v for k, v in env.items() if not k.startswith("SANDBOX_")},
    }
    stack.dashboards = [
        _gunicorn(tmp, free_port(), dashboard_env, workers=workers, threads=threads).start()
        for _ in range(dashboards)
    ]
    stack.workers = [
        Worker(dashboard_env, tmp / f"worker-{n}.log", name=f"worker-{n}").start()
        for n in range(index_workers)
    ]
    try:
        stack.sandbox.wait_ready("/sandbox/_stats")
        for dashboard in stack.dashboards:
            dashboard.wait_ready()
        for worker in stack.workers:
            worker.wait_ready()
    except Exception:
        stack.stop()
        raise
    return stack
