"""What the benchmarks that compare SQLite and PostgreSQL share: a fresh database of each
(a SQLite file in a temporary folder; a PostgreSQL database made and dropped here), and the
measuring done in a child process of its own on it, whose last line of output is its figures
as JSON."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def each_database(
    measure: Callable[[str], dict], *, only: str | None, postgres: str, prefix: str
) -> dict[str, dict]:
    """`measure(database_url)` on a fresh SQLite database, then a fresh PostgreSQL one (or
    the one `only` names), by name."""
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmp:
        if only in (None, "sqlite"):
            results["SQLite"] = measure(f"sqlite:///{Path(tmp) / 'db.sqlite3'}")
        if only in (None, "postgres"):
            name = f"{prefix.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
            admin(postgres, f'CREATE DATABASE "{name}"')
            try:
                results["PostgreSQL"] = measure(f"{postgres}/{name}")
            finally:
                admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def admin(server_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def run_child(script: str, arguments: list[str], database_url: str) -> dict:
    """`script --child 1 arguments…` on `database_url`, its figures read from its last line."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "INDEX_", "TASKS_", "SCAN_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, script, "--child", "1", *arguments]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the {database_url.split(':')[0]} run failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def median_ms(call: Callable[[], object], repeat: int) -> float:
    """The median time of `repeat` runs of `call`, in milliseconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000
