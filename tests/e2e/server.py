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
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from dashboard.sandbox.data import DEFAULT_SEED

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    result = subprocess.run(
        [sys.executable, "manage.py", "demo", "127.0.0.1:8000", "--no-serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py demo failed:\n{result.stdout}\n{result.stderr}")
    login = re.search(r"log in\s+(\S+) / (\S+)", result.stdout)
    if login is None:
        raise RuntimeError(f"manage.py demo printed no login:\n{result.stdout}")
    return Setup(env=env, username=login[1], password=login[2], folder=folder)


class Dashboard:
    """One gunicorn process serving a prepared dashboard, with `extra_env` on top."""

    def __init__(self, setup: Setup, *, name: str = "dashboard", port: int | None = None, **extra_env: str):
        self.setup = setup
        self.name = name
        self.port = port or free_port()
        self.extra_env = extra_env
        self.log_path = setup.folder / f"{name}-{self.port}.log"
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Dashboard:
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "dashboard.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--worker-class",
                "gthread",
                "--timeout",
                "60",
                "--graceful-timeout",
                "2",
            ],
            cwd=ROOT,
            env={**self.setup.env, **self.extra_env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: nothing to drain here
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def log(self) -> str:
        """The process's output so far (the last 4,000 characters)."""
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Dashboard:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
