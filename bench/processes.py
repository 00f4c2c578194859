"""Figures for the dashboard run as in production, on one machine: the scan of the big job by
the worker, the pages a person browses then, and each process's peak memory. Prints them;
asserts nothing.

    .venv/bin/python bench/processes.py [--latency-ms 50] [--job big] [--postgres postgres://postgres@127.0.0.1:5432]
                                        [--web-workers 1] [--threads 8] [--repeat 3]

Three processes beside this one, as the Procfile runs them: the sandbox, a gunicorn with
--latency-ms added to each answer, standing in for a remote Meteroid; the dashboard's web
gunicorn; and its worker, `manage.py index_worker`. They share one environment and a fresh
database, migrated first: SQLite in a temporary folder, or with --postgres a PostgreSQL
database made here and dropped at the end. A browser (requests, logged in through the login
form) then:

1. opens a small job's page and waits for its index, so that the worker is up and polling;
2. opens the big job's page (247,511 failures), which asks for its index, and waits for the
   worker to publish it (read from the database): the time from the page's request to the
   index published, against the ideal pages x latency / SCAN_CONCURRENCY;
3. browses that job: its page, the reasons page, a search, a page filtered by the largest
   reason group, deep pages, the row lookup: the first view and the median of --repeat
   views after it, each timed at the browser on loopback (the server's time and a
   millisecond); then the failures CSV export, streamed, in rows/s;
4. the peak memory (VmHWM) of the web gunicorn's workers (summed, the master left out) and
   of the worker process.

Timings on a shared machine are noisy: the load average before and after is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench.remote import _start_sandbox  # noqa: E402
from bench.worker import wait_for_index  # noqa: E402
from tests.support.django_process import checked, manage  # noqa: E402
from tests.support.gunicorn import Gunicorn  # noqa: E402
from tests.support.worker import Worker  # noqa: E402

SANDBOX_KEY = "pv_sand_processes000000000000"
USERNAME = "bench"
PASSWORD = "correct horse battery staple"  # noqa: S105 (a login of a database made for the run)
WEB_TARGET_MB = 120
WORKER_TARGET_MB = 250
SCAN_TARGET = 1.2  # end-to-end scan time / ideal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--job", default="big", help="a role of the sandbox's SHOWCASE (or a job id)")
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a fresh database there, not SQLite")
    parser.add_argument("--cache-url", default="locmemcache://bench")
    parser.add_argument("--web-workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="views of each page after the first")
    parser.add_argument("--search", default="cus_4f")
    parser.add_argument("--row", type=int, default=123_457)
    parser.add_argument("--timeout", type=float, default=900, help="the longest wait for the index (s)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-processes-") as tmp:
        if args.postgres:
            from bench.index import _admin

            name = f"bench_processes_{uuid.uuid4().hex[:8]}"
            _admin(args.postgres, f'CREATE DATABASE "{name}"')
            try:
                _run(args, Path(tmp), f"{args.postgres}/{name}")
            finally:
                _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            _run(args, Path(tmp), f"sqlite:///{Path(tmp) / 'db.sqlite3'}")


def _environment(database_url: str, cache_url: str) -> dict[str, str]:
    """The one environment of every process: this one's, on the dashboard's settings, with
    its own database and cache and nothing of another deployment's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("METEROID_", "SANDBOX_", "DJANGO_", "CACHE_", "DATABASE_", "TASKS_"))
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "SECRET_KEY": "bench-processes-only-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SANDBOX_API_KEY": SANDBOX_KEY,
        "LOG_LEVEL": "WARNING",
    }


def _run(args: argparse.Namespace, tmp: Path, database_url: str) -> None:
    env = _environment(database_url, args.cache_url)
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    checked(
        manage(
            "createsuperuser", "--noinput", "--username", USERNAME, "--email", "bench@example.com",
            env={**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
        )
    )  # fmt: skip
    sandbox, base = _start_sandbox(args.latency_ms, env)
    env |= {"METEROID_BASE_URL": base, "METEROID_API_KEY": SANDBOX_KEY}
    worker = Worker(env, tmp / "worker.log", options=())  # as the Procfile runs it
    web = Gunicorn(env, workers=args.web_workers, threads=args.threads, log_path=tmp / "web.log", name="web")
    try:
        worker.start()
        web.start().wait_ready()
        # This process reads the index from the same database, with the same settings.
        os.environ.update(env)
        import django

        django.setup()
        _measure(args, web, worker, database_url)
    finally:
        web.stop()
        worker.stop()
        sandbox.terminate()
        sandbox.wait(10)


def _measure(args: argparse.Namespace, web: Gunicorn, worker: Worker, database_url: str) -> None:
    from django.conf import settings

    from dashboard.sandbox.world.data import SHOWCASE

    job_id = SHOWCASE.get(args.job, args.job)
    browser = _login(web.url)
    print(
        f"Dashboard as in production: web gunicorn ({args.web_workers} worker x {args.threads} threads), "
        f"index worker, sandbox latency {args.latency_ms:g} ms, database {database_url.split(':')[0]}, "
        f"SCAN_CONCURRENCY {settings.SCAN_CONCURRENCY}"
    )
    load = os.getloadavg()
    warm_up = SHOWCASE["customers"] if job_id != SHOWCASE["customers"] else SHOWCASE["hostile"]
    _get(browser, f"{web.url}/jobs/{warm_up}/")
    wait_for_index(warm_up, timeout=args.timeout, worker=worker)

    indexed = _scan(args, browser, web, worker, job_id)
    if indexed.status != indexed.Status.DONE:
        print(f"  the scan failed: {indexed.error}")
        return
    _browse(args, browser, web, job_id, indexed)
    _export(browser, web, job_id, indexed.records + indexed.chunk_rows)
    _memory(web, worker)
    print(
        f"Load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores "
        f"(other work on the machine shows in every figure)"
    )


def _login(url: str) -> requests.Session:
    """A browser session logged in through the login form."""
    session = requests.Session()
    form = session.get(f"{url}/accounts/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert token, "no CSRF token in the login form"
    response = session.post(
        f"{url}/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{url}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def _get(browser: requests.Session, url: str) -> tuple[float, requests.Response]:
    """Seconds to get `url` whole, and the answer (which must be a 200)."""
    started = time.perf_counter()
    response = browser.get(url, timeout=300)
    took = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return took, response


def _scan(args, browser: requests.Session, web: Gunicorn, worker: Worker, job_id: str):
    """Open the job's page, which asks for its index, and wait for the worker to publish it."""
    from django.conf import settings

    from dashboard.meteroid.streaming import PAGE_SIZE

    asked = time.time()
    first, _ = _get(browser, f"{web.url}/jobs/{job_id}/")
    indexed = wait_for_index(job_id, timeout=args.timeout, worker=worker)
    seen = time.time()
    # The pages of failure records read (the rows of whole failed chunks come in one file).
    pages = -(-(indexed.records + indexed.records_apart) // PAGE_SIZE)
    ideal = pages * args.latency_ms / 1000 / settings.SCAN_CONCURRENCY
    took = seen - asked
    print(
        f"Scan of {job_id} by the worker: {indexed.records:,} failure records and {indexed.chunk_rows:,} rows "
        f"of whole failed chunks, {pages:,} pages of {PAGE_SIZE} ({indexed.status})"
    )
    print(f"  the job's page, which asks for it: {first * 1000:.0f} ms")
    taken = _seconds(indexed.started_at, indexed.created_at)
    scanned = _seconds(indexed.finished_at, indexed.started_at)
    print(
        f"  page asked -> index published {took:7.2f} s   (worker took it after {taken:.2f} s, "
        f"read and wrote it in {scanned:.2f} s)"
    )
    ratio = took / ideal if ideal else float("nan")
    print(
        f"  ideal pages x latency / concurrency {ideal:7.3f} s   ratio {ratio:.2f}x   "
        f"(target: <= {SCAN_TARGET}x; the worker's part alone {scanned / ideal if ideal else float('nan'):.2f}x)"
    )
    return indexed


def _seconds(later: datetime | None, earlier: datetime | None) -> float:
    if later is None or earlier is None:
        return float("nan")
    return (later - earlier).total_seconds()


def _browse(args, browser: requests.Session, web: Gunicorn, job_id: str, indexed) -> None:
    """The pages a person opens once the index is there: the first view and later ones."""
    groups = (indexed.summary or {}).get("groups") or []
    records = indexed.records + indexed.chunk_rows
    job = f"{web.url}/jobs/{job_id}/"
    views = [
        ("job page", job),
        ("reasons page", f"{job}reasons/"),
        (f"search {args.search!r}", f"{job}?q={args.search}"),
        (
            f"deep page {max(1, records // 25 // 2):,} of the whole list",
            f"{job}?page={max(1, records // 25 // 2)}",
        ),
        (f"row lookup ?row={args.row:,}", f"{job}?row={args.row}"),
    ]
    if groups:
        key, count = groups[0][0], groups[0][1]
        deep = max(1, count // 25 // 2)
        views[3:3] = [
            (f"filtered by its largest reason group ({count:,})", f"{job}?reason={key}"),
            (f"deep page {deep:,} of that group", f"{job}?reason={key}&page={deep}"),
        ]
    print(f"Pages of {job_id}, timed at the browser: first view, then median of {args.repeat} more")
    for label, url in views:
        first, response = _get(browser, url)
        again = [_get(browser, url)[0] for _ in range(args.repeat)]
        waiting = "   (still waiting for the index!)" if 'class="waiting"' in response.text else ""
        print(
            f"  {label:<52} first {first * 1000:7.1f} ms   again {statistics.median(again) * 1000:7.1f} ms"
            f"{waiting}"
        )


def _export(browser: requests.Session, web: Gunicorn, job_id: str, rows: int) -> None:
    """The failures CSV of the whole job, streamed as a browser reads it: the index's `rows`."""
    started = time.perf_counter()
    size = lines = 0
    with browser.get(f"{web.url}/jobs/{job_id}/failures.csv", stream=True, timeout=600) as response:
        assert response.status_code == 200, response.status_code
        for block in response.iter_content(1 << 16):
            size += len(block)
            lines += block.count(b"\n")
    took = time.perf_counter() - started
    # Lines are counted, not parsed (which would take the cores the server needs): a field
    # with a line break makes a row of two lines.
    print(
        f"Failures CSV export: {rows:,} rows ({lines:,} lines), {size / 1e6:.1f} MB in {took:.2f} s   "
        f"{rows / took:,.0f} rows/s"
    )


def _memory(web: Gunicorn, worker: Worker) -> None:
    """Peak memory of the web gunicorn's workers (the master serves nothing) and of the
    index worker."""
    assert web.process is not None
    web_workers = _children(web.process.pid)
    web_peak = sum(_status_mb(pid, "VmHWM") for pid in web_workers)
    worker_peak = _status_mb(worker.pid, "VmHWM") + sum(
        _status_mb(pid, "VmHWM") for pid in _children(worker.pid)
    )
    print("Peak memory (VmHWM)")
    print(
        f"  web      {web_peak:6.0f} MB over its {len(web_workers)} worker process(es)   "
        f"(target: < {WEB_TARGET_MB} MB)"
    )
    print(f"  worker   {worker_peak:6.0f} MB   (target: < {WORKER_TARGET_MB} MB)")


def _children(parent: int) -> list[int]:
    """The processes whose parent is `parent`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _status_mb(pid: int, field: str) -> float:
    """A memory figure of a process from /proc/<pid>/status (VmHWM: its peak), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    main()
