"""The dashboard as a person runs it, for the browser tests and bench/browser.py.

`prepare()` does what `make demo` does before it serves (`manage.py demo --no-serve`: migrate,
collect static files, make a login) into a folder of its own; `Dashboard` then serves that
set-up with gunicorn, as the Procfile does, on a free loopback port, with an index worker
beside it (the Procfile's `worker`: pages only ask for scans, it runs them). The processes of
a set-up share its SQLite database and a file cache in its folder (as Redis is shared in
production): the sandbox each of them runs serves the same data, retries asked included.

Several `Dashboard`s can share one set-up (same database and secret key): a login made on one
is valid on all of them, and cookies do not depend on the port, so one browser context can
visit them all. Their workers take each other's scans, so they must agree on what Meteroid
says (its address, its clock); one that does not serves a copy of the set-up
(`Setup.copy`), whose logins and sessions are those of the original at the time of copying.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from dashboard.sandbox.world.data import DEFAULT_SEED
from tests.support.django_process import manage
from tests.support.gunicorn import Gunicorn
from tests.support.net import free_port
from tests.support.worker import Worker

__all__ = ["Dashboard", "Setup", "free_port", "prepare"]


# Variables a developer's shell or .env might set that would change what the tests see.
_NEUTRAL = {
    "DEBUG": "False",
    "SECURE_HTTPS": "False",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "METEROID_API_KEY": "",
    "SANDBOX_LATENCY_MS": "0",
    "SANDBOX_RATE_429": "0",
    "SANDBOX_RATE_500": "0",
    "SANDBOX_TIME_OFFSET_SECONDS": "0",
    "SANDBOX_SEED": str(DEFAULT_SEED),
    "SANDBOX_API_KEY": "pv_sand_demo0000000000000000",
    "LOG_LEVEL": "WARNING",
    # The browser tests look at the jobs they open: the worker's backfill rounds, which read
    # every job of the window (the biggest, of a quarter of a million failures, included),
    # would make a page's scan wait behind one of theirs on a machine running the tests.
    "INDEX_BACKFILL_SECONDS": "86400",
}


@dataclass(frozen=True)
class Setup:
    """A prepared dashboard: its environment and the login `manage.py demo` printed."""

    env: dict[str, str]
    username: str
    password: str
    folder: Path

    def copy(self, folder: Path, **env: str) -> Setup:
        """This set-up in `folder`, with `env` on top: a copy of its database as it is now
        (logins and sessions included), a cache of its own, the same static files."""
        folder.mkdir(parents=True, exist_ok=True)
        with (
            closing(sqlite3.connect(self.folder / "db.sqlite3")) as source,
            closing(sqlite3.connect(folder / "db.sqlite3")) as copy,
        ):
            source.backup(copy)
        return Setup(
            env={**self.env, **env, **_own_files(folder)},
            username=self.username,
            password=self.password,
            folder=folder,
        )


def _own_files(folder: Path) -> dict[str, str]:
    """The settings that put a set-up's database and cache in `folder`."""
    return {
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "CACHE_URL": f"filecache://{folder / 'cache'}",
    }


def prepare(folder: Path) -> Setup:
    """Migrate a fresh SQLite database, collect static files and make a login, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **_NEUTRAL,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        **_own_files(folder),
        "STATIC_ROOT": str(folder / "static"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PYTHONUNBUFFERED": "1",
    }
    result = manage("demo", "127.0.0.1:8000", "--no-serve", env=env)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py demo failed:\n{result.stdout}\n{result.stderr}")
    login = re.search(r"log in\s+(\S+) / (\S+)", result.stdout)
    if login is None:
        raise RuntimeError(f"manage.py demo printed no login:\n{result.stdout}")
    return Setup(env=env, username=login[1], password=login[2], folder=folder)


class Dashboard(Gunicorn):
    """One gunicorn process serving a prepared dashboard, with `extra_env` on top, and (unless
    `worker` is False) an index worker on the same environment, started and stopped with it;
    their output goes to logs in the set-up's folder, and a failing start shows both."""

    def __init__(
        self,
        setup: Setup,
        *,
        name: str = "dashboard",
        port: int | None = None,
        worker: bool = True,
        **extra_env: str,
    ):
        self.setup = setup
        self.extra_env = extra_env
        port = port or free_port()
        env = {**setup.env, **extra_env}
        super().__init__(env, port=port, name=name, log_path=setup.folder / f"{name}-{port}.log")
        self.worker = (
            Worker(env, setup.folder / f"{name}-{port}-worker.log", name=f"{name}-worker") if worker else None
        )

    def start(self, timeout: float = 30.0) -> Dashboard:
        if self.worker is not None:
            self.worker.start()
        super().start()
        try:
            self.wait_ready(timeout=timeout)
            if self.worker is not None:
                self.worker.wait_ready(timeout=timeout)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, how: signal.Signals = signal.SIGINT) -> None:
        super().stop(how)  # SIGINT by default: gunicorn's quick shutdown, nothing to drain here
        if self.worker is not None:
            self.worker.stop()

    def log(self) -> str:
        """The output of the server, then of its worker (the end of each)."""
        if self.worker is None:
            return super().log()
        return f"{super().log()}\n--- {self.worker.name}\n{self.worker.log()}"

    def __enter__(self) -> Dashboard:
        return self.start()
