"""The dashboard as a person runs it, for the browser tests and bench/browser.py.

`prepare()` does what `make demo` does before it serves (`manage.py demo --no-serve`: migrate,
collect static files, make a login) into a folder of its own; `Dashboard` then serves that
set-up with gunicorn, as the Procfile does, on a free loopback port. Several `Dashboard`s can
share one set-up (same database and secret key): a login made on one is valid on all of them,
and cookies do not depend on the port, so one browser context can visit them all.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
from dataclasses import dataclass
from pathlib import Path

from dashboard.sandbox.data import DEFAULT_SEED
from tests.support.django_process import manage
from tests.support.gunicorn import Gunicorn
from tests.support.net import free_port

__all__ = ["ROOT", "Dashboard", "Setup", "free_port", "prepare"]

ROOT = Path(__file__).resolve().parents[2]

# Variables a developer's shell or .env might set that would change what the tests see.
_NEUTRAL = {
    "DEBUG": "False",
    "SECURE_HTTPS": "False",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "CACHE_URL": "locmemcache://e2e",
    "METEROID_API_KEY": "",
    "SANDBOX_LATENCY_MS": "0",
    "SANDBOX_RATE_429": "0",
    "SANDBOX_RATE_500": "0",
    "SANDBOX_TIME_OFFSET_SECONDS": "0",
    "SANDBOX_SEED": str(DEFAULT_SEED),
    "SANDBOX_API_KEY": "pv_sand_demo0000000000000000",
    "LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Setup:
    """A prepared dashboard: its environment and the login `manage.py demo` printed."""

    env: dict[str, str]
    username: str
    password: str
    folder: Path


def prepare(folder: Path) -> Setup:
    """Migrate a fresh SQLite database, collect static files and make a login, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **_NEUTRAL,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
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
    """One gunicorn process serving a prepared dashboard, with `extra_env` on top; its output
    goes to a log in the set-up's folder."""

    def __init__(self, setup: Setup, *, name: str = "dashboard", port: int | None = None, **extra_env: str):
        self.setup = setup
        self.extra_env = extra_env
        port = port or free_port()
        super().__init__(
            {**setup.env, **extra_env}, port=port, name=name, log_path=setup.folder / f"{name}-{port}.log"
        )

    def start(self, timeout: float = 30.0) -> Dashboard:
        super().start()
        self.wait_ready(timeout=timeout)
        return self

    def stop(self, how: signal.Signals = signal.SIGINT) -> None:
        super().stop(how)  # SIGINT by default: gunicorn's quick shutdown, nothing to drain here

    def __enter__(self) -> Dashboard:
        return self.start()
