"""The sandbox as its own gunicorn process, standing in for a remote Meteroid in benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parent.parent


def _start_sandbox(
    latency_ms: float, env: dict[str, str], *, workers: int = 2
) -> tuple[subprocess.Popen, str]:
    """The sandbox in a gunicorn of `workers` processes (each counts the requests it serves:
    with one, its `_stats` are all of them), and its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            # The sandbox alone, as a remote Meteroid would be: none of the dashboard's pages.
            "dashboard.sandbox.api.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "16",
            "--worker-class",
            "gthread",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**env, "SANDBOX_LATENCY_MS": str(latency_ms)},
    )
    base = f"http://127.0.0.1:{port}/sandbox"
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/api/v1/batch-jobs", timeout=1)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the sandbox did not start")


@contextmanager
def remote_sandbox(latency_ms: float) -> Iterator[subprocess.Popen]:
    """Start the sandbox process with `latency_ms` of added latency and point this process's
    settings (a temporary SQLite database, a local cache) at it; stop it on the way out."""
    tmp = tempfile.mkdtemp(prefix="bench-")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "CACHE_URL": "locmemcache://bench",
        "LOG_LEVEL": "WARNING",
    }
    sandbox, base = _start_sandbox(latency_ms, env)
    try:
        os.environ.update(env)
        os.environ["METEROID_BASE_URL"] = base
        os.environ["METEROID_API_KEY"] = os.environ.get("SANDBOX_API_KEY", "pv_sand_demo0000000000000000")
        yield sandbox
    finally:
        sandbox.terminate()
        sandbox.wait(10)
