"""Real worker processes (`manage.py index_worker`) scanning jobs of the sandbox over HTTP
into the index: end to end on SQLite, and on PostgreSQL a worker killed mid-scan whose scan
another worker takes over and completes, with no row twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.streaming import stream_failures
from tests.support import services
from tests.support.django_process import checked, manage, python
from tests.support.worker import Worker

SMALL_JOB = "bjob_6dG1WdYj0HUnlSoyo9abp0"  # 1,022 failure records and 2,500 rows of whole failed chunks
LARGER_JOB = "bjob_6VG0OZuEwrTEyUlzqBCPJe"  # 4,101 failure records, completed


@dataclass
class Database:
    url: str
    query: Callable[..., list[tuple]]  # (sql with %s placeholders, params)


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("METEROID_", "SANDBOX_", "DJANGO_", "CACHE_", "DATABASE_", "INDEX_", "TASKS_"))
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "index-worker-test-only-" + "x" * 40,
        "LOG_LEVEL": "INFO",
        # The backfill only where a test says: its scans would be in every other's way.
        "INDEX_BACKFILL_SECONDS": "86400",
        **extra,
    }


def _request(env: dict[str, str], job_id: str) -> None:
    """What a page will do: ask for the index of a job as it reads it now (here in a process
    of its own)."""
    checked(
        python(
            "from dashboard.index.sources import ask\n"
            "from dashboard.meteroid.gateway import get_gateway\n"
            f"ask(get_gateway().job({job_id!r}))",
            env=env,
        )
    )


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A worker process (tests/support/worker.py), its process handed to the test for its
    signals and pid; stopped on the way out."""
    worker = Worker(env, log, options=("--no-startup-delay", "--interval", "0.2")).start()
    try:
        yield worker.process
    finally:
        worker.stop()


def _wait_for(what: str, condition: Callable[[], bool], timeout: float, logs: tuple[Path, ...] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs if log.exists())
    raise AssertionError(f"{what}: not within {timeout} s\n{tails}")


def _index_row(db: Database, job_id: str) -> dict:
    rows = db.query(
        "SELECT status, records, fetched, attempts, lease_holder, error, id, chunk_rows FROM index_indexedjob "
        "WHERE job_id = %s",
        (job_id,),
    )
    if not rows:
        return {}
    status, records, fetched, attempts, holder, error, pk, chunk_rows = rows[0]
    return {
        "status": status,
        "records": records,
        "fetched": fetched,
        "attempts": attempts,
        "holder": holder,
        "error": error,
        "pk": pk,
        "chunk_rows": chunk_rows,
    }


def _sandbox_failures(job_id: str) -> set[tuple[str, int, str]]:
    """The job's failures as the sandbox lists them to this process, over HTTP."""
    gateway = get_gateway()
    _, failures = stream_failures(gateway, gateway.job(job_id))
    return {(failure.id, failure.item_index + 1, failure.reason) for failure in failures}


def _indexed_failures(db: Database, pk: int) -> list[tuple[str, int, str]]:
    return [
        tuple(row)
        for row in db.query(
            "SELECT failure_id, row, reason FROM index_indexedfailure WHERE indexed_job_id = %s", (pk,)
        )
    ]


@pytest.fixture
def sqlite_database(tmp_path) -> Database:
    path = tmp_path / "db.sqlite3"

    def query(sql: str, params: tuple = ()) -> list[tuple]:
        with sqlite3.connect(path, timeout=10) as connection:
            return connection.execute(sql.replace("%s", "?"), params).fetchall()

    return Database(f"sqlite:///{path}", query)


@pytest.fixture
def postgres_database() -> Iterator[Database]:
    """A database of its own on the PostgreSQL that DATABASE_URL names, made and dropped here:
    the workers must see what each other wrote, which a test transaction would hide."""
    with services.postgres_database("index_workers") as url:

        def query(sql: str, values: tuple = ()) -> list[tuple]:
            with psycopg.connect(url, autocommit=True) as connection:
                return connection.execute(sql, values).fetchall()

        yield Database(url, query)


def test_a_worker_process_indexes_a_job_of_the_sandbox_end_to_end(sqlite_database, tmp_path):
    env = _env(sqlite_database.url, INDEX_LEASE_SECONDS="2")  # the sweeper's round: every second
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    log = tmp_path / "worker.log"
    # Asked twice before any worker runs: one index, one task.
    _request(env, SMALL_JOB)
    _request(env, SMALL_JOB)
    assert sqlite_database.query("SELECT count(*) FROM django_tasks_database_dbtaskresult") == [(1,)]
    # An index past its retention, which the worker's sweeper prunes on its first round.
    checked(
        python(
            "from datetime import timedelta\n"
            "from django.utils import timezone\n"
            "from dashboard.index.models import IndexedJob\n"
            "IndexedJob.objects.create(base_url='sandbox:', key_fingerprint='f', job_id='bjob_old', "
            "state_key='s', status='done', updated_at=timezone.now())\n"
            "IndexedJob.objects.filter(job_id='bjob_old').update(created_at=timezone.now() - timedelta(days=31))",
            env=env,
        )
    )
    with _worker(env, log):
        _wait_for(
            "the index is published",
            lambda: _index_row(sqlite_database, SMALL_JOB).get("status") in ("done", "failed"),
            90,
            (log,),
        )
        _wait_for("the old index is pruned", lambda: not _index_row(sqlite_database, "bjob_old"), 30, (log,))
    index = _index_row(sqlite_database, SMALL_JOB)
    assert (index["status"], index["error"], index["records"], index["attempts"]) == ("done", "", 1022, 1)
    assert (index["chunk_rows"], index["fetched"]) == (2500, 3522)
    stored = _indexed_failures(sqlite_database, index["pk"])
    assert len(stored) == 3522
    assert {row for row in stored if row[0] is not None} == _sandbox_failures(SMALL_JOB)
    assert sqlite_database.query(
        "SELECT status FROM django_tasks_database_dbtaskresult WHERE priority = 0"
    ) == [("SUCCESSFUL",)]


@pytest.mark.postgres
def test_a_worker_killed_mid_scan_is_taken_over_by_another_with_no_row_twice(postgres_database, tmp_path):
    db = postgres_database
    # Slow enough to be caught halfway: 41 pages, 2 at a time, 300 ms each.
    env = _env(db.url, SANDBOX_LATENCY_MS="300", SCAN_CONCURRENCY="2", INDEX_LEASE_SECONDS="2")
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    with _worker(env, first_log) as first:
        _request(env, LARGER_JOB)
        _wait_for(
            "the first worker has written part of the index",
            lambda: 0 < (_index_row(db, LARGER_JOB).get("records") or 0) < 4101,
            60,
            (first_log,),
        )
        assert f":{first.pid}:" in _index_row(db, LARGER_JOB)["holder"]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    partial = _index_row(db, LARGER_JOB)
    assert partial["status"] == "running"
    assert 0 < partial["records"] < 4101
    with _worker(env, second_log) as second:
        _wait_for(
            "the second worker takes the scan over",
            lambda: f":{second.pid}:" in (_index_row(db, LARGER_JOB).get("holder") or ""),
            30,
            (first_log, second_log),
        )
        _wait_for(
            "the index is published",
            lambda: _index_row(db, LARGER_JOB).get("status") in ("done", "failed"),
            90,
            (first_log, second_log),
        )
    index = _index_row(db, LARGER_JOB)
    assert (index["status"], index["error"], index["records"], index["attempts"]) == ("done", "", 4101, 2)
    stored = _indexed_failures(db, index["pk"])
    assert len(stored) == len(set(stored)) == 4101
    assert set(stored) == _sandbox_failures(LARGER_JOB)
    # The dead worker's task stays as it left it; the one enqueued again has run.
    assert sorted(db.query("SELECT status FROM django_tasks_database_dbtaskresult")) == [
        ("RUNNING",),
        ("SUCCESSFUL",),
    ]


def test_a_worker_process_keeps_the_jobs_of_the_window_indexed_by_itself(sqlite_database, tmp_path):
    # The window: the live jobs of the last half hour or so (small ones), asked by no page.
    env = _env(sqlite_database.url, INDEX_BACKFILL_SECONDS="1", INDEX_WINDOW_DAYS="0.02")
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    log = tmp_path / "worker.log"

    def indexes() -> list[tuple]:
        return sqlite_database.query("SELECT job_id, status, asked_by, input_rows_read FROM index_indexedjob")

    with _worker(env, log):
        _wait_for(
            "the window's jobs are indexed",
            lambda: (found := indexes()) and all(status in ("done", "failed") for _, status, _, _ in found),
            90,
            (log,),
        )
    found = indexes()
    assert {asked_by for _, _, asked_by, _ in found} == {"background"}
    assert {status for _, status, _, _ in found} == {"done"}
    assert any(read for *_, read in found), "the input rows of the window's imports are read too"
    tasks = sqlite_database.query(
        "SELECT task_path, priority, status FROM django_tasks_database_dbtaskresult"
    )
    assert {(path, priority) for path, priority, _ in tasks} == {("dashboard.index.tasks.scan_job", -10)}


def test_a_pages_scan_is_not_held_behind_a_long_scan_of_the_backfill(sqlite_database, tmp_path):
    # The backfill's scan of the larger job reads one page at a time, 400 ms each (17 s or
    # more); a page then asks for the small one, which a loop kept for pages' scans publishes
    # while the backfill's scan still runs. A stop signal then lets that scan end first.
    env = _env(
        sqlite_database.url,
        SANDBOX_LATENCY_MS="400",
        SCAN_CONCURRENCY="4",
        INDEX_BACKFILL_CONCURRENCY="1",
        INDEX_WORKER_SCANS="2",
    )
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    checked(
        python(
            "from dashboard.index.indexing import request_index\n"
            "from dashboard.index.sources import scope_of\n"
            "from dashboard.meteroid.cache import job_state_key\n"
            "from dashboard.meteroid.gateway import get_gateway\n"
            f"gateway = get_gateway(); job = gateway.job({LARGER_JOB!r})\n"
            "request_index(scope_of(gateway), job.id, job_state_key(job), background=True)",
            env=env,
        )
    )
    log = tmp_path / "worker.log"
    with _worker(env, log) as worker:
        _wait_for(
            "the backfill's scan is under way",
            lambda: (_index_row(sqlite_database, LARGER_JOB).get("records") or 0) > 0,
            60,
            (log,),
        )
        _request(env, SMALL_JOB)
        _wait_for(
            "the page's scan is published",
            lambda: _index_row(sqlite_database, SMALL_JOB).get("status") in ("done", "failed"),
            60,
            (log,),
        )
        assert _index_row(sqlite_database, SMALL_JOB)["status"] == "done"
        assert _index_row(sqlite_database, LARGER_JOB)["status"] == "running", log.read_text()[-3000:]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
    larger = _index_row(sqlite_database, LARGER_JOB)
    assert (larger["status"], larger["records"], larger["attempts"]) == ("done", 4101, 1)


def test_a_second_stop_signal_stops_the_worker_at_once_leaving_its_scan_to_be_taken_over(
    sqlite_database, tmp_path
):
    env = _env(sqlite_database.url, SANDBOX_LATENCY_MS="400", SCAN_CONCURRENCY="1")
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    log = tmp_path / "worker.log"
    with _worker(env, log) as worker:
        _request(env, LARGER_JOB)  # 41 pages, one at a time: 16 s or more
        _wait_for(
            "the scan is under way",
            lambda: (_index_row(sqlite_database, LARGER_JOB).get("records") or 0) > 0,
            60,
            (log,),
        )
        worker.send_signal(signal.SIGTERM)
        _wait_for(
            "the worker says it finishes its scan", lambda: "finishing the scans" in log.read_text(), 10
        )
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(10) == 1
    assert _index_row(sqlite_database, LARGER_JOB)["status"] == "running", log.read_text()[-3000:]


def test_a_loop_goes_on_after_a_database_error(monkeypatch):
    # SQLite busy past its timeout (or PostgreSQL restarting) ended `db_worker`'s loop, and
    # with the main one the whole worker: a loop of the index worker takes its next task.
    from django.db import OperationalError
    from django_tasks_db.management.commands.db_worker import Worker

    from dashboard.index.management.commands.index_worker import Loop

    rounds = []

    def run(loop) -> None:
        rounds.append(loop.startup_delay)
        if len(rounds) == 1:
            raise OperationalError("database is locked")

    monkeypatch.setattr(Worker, "run", run)
    monkeypatch.setattr("dashboard.index.management.commands.index_worker.time.sleep", lambda seconds: None)
    monkeypatch.setattr(
        "dashboard.index.management.commands.index_worker.close_old_connections", lambda: None
    )
    loop = Loop(
        queue_names=["*"],
        interval=0.1,
        batch=False,
        backend_name="default",
        startup_delay=True,
        max_tasks=None,
        worker_id="loop-test",
        excluded_queue_names=[],
    )
    loop.run()
    assert rounds == [True, False]
