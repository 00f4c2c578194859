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

With --backfill it measures the backfill instead (no web gunicorn, no browser): on the fresh
database, with the worker up, this process runs one backfill round (`backfill.backfill`:
the jobs of INDEX_WINDOW_DAYS, or --window-days, listed and each one's index asked for in
the background), and waits for the worker to publish (or fail) every index it asked for.
It prints the time from the round's start to the last index published, against the ideal
at the backfill's share of the budget: calls x latency / INDEX_BACKFILL_CONCURRENCY, for the
pages of failures alone and for every call the sandbox served (the list, the jobs' details,
which the round and each scan read, the pages, the errors CSVs and input files), counted
by the sandbox itself (one process, so that its counts are all of them); and against the
floor of a scan's design, which reads a job's detail, its first page and its files one at a
time and only the pages after the first `INDEX_BACKFILL_CONCURRENCY` at once. The big job,
when in the window, is shown apart: its scan alone, and the rest without it (the worker runs
one scan at a time).

    .venv/bin/python bench/processes.py --backfill [--window-days 30] [--latency-ms 50]
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
from itertools import pairwise
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
    parser.add_argument(
        "--backfill", action="store_true", help="measure a backfill round of the window instead"
    )
    parser.add_argument(
        "--window-days", type=float, help="INDEX_WINDOW_DAYS of the backfill (default: its setting)"
    )
    args = parser.parse_args()
    run = _run_backfill if args.backfill else _run

    with tempfile.TemporaryDirectory(prefix="bench-processes-") as tmp:
        if args.postgres:
            from bench.index import _admin

            name = f"bench_processes_{uuid.uuid4().hex[:8]}"
            _admin(args.postgres, f'CREATE DATABASE "{name}"')
            try:
                run(args, Path(tmp), f"{args.postgres}/{name}")
            finally:
                _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            run(args, Path(tmp), f"sqlite:///{Path(tmp) / 'db.sqlite3'}")


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


# --- The backfill of the window ------------------------------------------------------------


def _run_backfill(args: argparse.Namespace, tmp: Path, database_url: str) -> None:
    # The worker's own rounds wait a day: the round measured is this process's.
    env = _environment(database_url, args.cache_url) | {"INDEX_BACKFILL_SECONDS": "86400"}
    if args.window_days:
        env["INDEX_WINDOW_DAYS"] = str(args.window_days)
    checked(manage("migrate", "--noinput", "-v", "0", env=env))
    sandbox, base = _start_sandbox(args.latency_ms, env, workers=1)
    env |= {"METEROID_BASE_URL": base, "METEROID_API_KEY": SANDBOX_KEY}
    worker = Worker(env, tmp / "worker.log", options=())  # as the Procfile runs it
    try:
        worker.start().wait_ready()
        os.environ.update(env)
        import django

        django.setup()
        _backfill(args, base, worker, database_url)
    finally:
        worker.stop()
        sandbox.terminate()
        sandbox.wait(10)


def _backfill(args: argparse.Namespace, base: str, worker: Worker, database_url: str) -> None:
    from django.conf import settings
    from django.utils import timezone

    from dashboard.index import backfill
    from dashboard.index.models import IndexedJob
    from dashboard.meteroid.streaming import PAGE_SIZE
    from dashboard.sandbox.world.data import SHOWCASE

    latency = args.latency_ms / 1000
    share = settings.INDEX_BACKFILL_CONCURRENCY
    print(
        f"Backfill of the last {settings.INDEX_WINDOW_DAYS:g} days: one round, then the index worker "
        f"(as the Procfile runs it); sandbox latency {args.latency_ms:g} ms, database "
        f"{database_url.split(':')[0]}, INDEX_BACKFILL_CONCURRENCY {share}"
    )
    auth = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    requests.post(f"{base}/_stats/reset", headers=auth, timeout=10).raise_for_status()
    load = os.getloadavg()
    started = timezone.now()
    began = time.perf_counter()
    done = backfill.backfill()
    round_s = time.perf_counter() - began
    Status = IndexedJob.Status
    deadline = time.monotonic() + args.timeout
    while IndexedJob.objects.filter(status__in=(Status.QUEUED, Status.RUNNING)).exists():
        if worker.process is None or worker.process.poll() is not None:
            raise SystemExit(f"the index worker exited:\n{worker.log()}")
        if time.monotonic() > deadline:
            raise SystemExit(f"the backfill is not done after {args.timeout:.0f} s")
        time.sleep(0.05)
    calls = requests.get(f"{base}/_stats", headers=auth, timeout=10).json()
    indexes = list(IndexedJob.objects.order_by("started_at"))
    took = _seconds(max(i.finished_at for i in indexes), started)
    scanning = [_seconds(i.finished_at, i.started_at) for i in indexes]
    overlapping = sum(1 for a, b in pairwise(indexes) if b.started_at < a.finished_at)
    # Time the worker had no scan: before the first, and between one and the next.
    idle = _seconds(indexes[0].started_at, started) + sum(
        max(0.0, _seconds(b.started_at, a.finished_at)) for a, b in pairwise(indexes)
    )
    published = sum(1 for i in indexes if i.status == Status.DONE)
    records = sum(i.records for i in indexes)
    print(
        f"  {done.listed} jobs listed, {done.looked} details read, {done.asked} indexes asked for: "
        f"{published} published, {len(indexes) - published} failed; {records:,} failure records"
    )
    print(
        f"  calls served: {calls['jobs']} list pages, {calls['job']} job details, {calls['failures']:,} pages "
        f"of failures, {calls['files']} files (errors CSVs and input files)"
    )
    print(
        f"  round started -> last index published {took:7.2f} s   (the round itself: {round_s:.2f} s; "
        f"scans {sum(scanning):.2f} s in all, {overlapping} overlapping; the worker idle {idle:.2f} s)"
    )
    pages_ideal = calls["failures"] * latency / share
    every_ideal = sum(calls.values()) * latency / share
    print(
        f"  ideal, pages of failures x latency / {share}   {pages_ideal:7.2f} s   ratio {took / pages_ideal:.2f}x"
    )
    print(
        f"  ideal, every call x latency / {share}          {every_ideal:7.2f} s   ratio {took / every_ideal:.2f}x"
    )
    # A scan reads its job's detail, its first page of failures and its files one at a time
    # (the pages after the first `share` at once): the least its design can take.
    alone = 2 * len(indexes) + calls["files"]
    floor = alone * latency + (calls["failures"] - len(indexes)) * latency / share
    print(
        f"  floor, {alone} calls one at a time + the other pages / {share}   {floor:7.2f} s   ratio {took / floor:.2f}x"
    )
    big = next((i for i in indexes if i.job_id == SHOWCASE["big"]), None)
    if big is not None:
        big_pages = -(-(big.records + big.records_apart) // PAGE_SIZE)
        big_s = _seconds(big.finished_at, big.started_at)
        big_ideal = big_pages * latency / share
        rest_ideal = (calls["failures"] - big_pages) * latency / share
        print(
            f"  the big job alone: {big.records:,} records, {big_pages:,} pages, scanned in {big_s:.2f} s   "
            f"ideal {big_ideal:.2f} s   ratio {big_s / big_ideal:.2f}x"
        )
        rest = [seconds for i, seconds in zip(indexes, scanning, strict=True) if i is not big]
        print(
            f"  the rest ({len(rest)} jobs): {took - big_s:.2f} s   ideal (pages) {rest_ideal:.2f} s   "
            f"ratio {(took - big_s) / rest_ideal:.2f}x   (a scan: median {statistics.median(rest):.2f} s, "
            f"longest {max(rest):.2f} s)"
        )
    print(f"Load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores")


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
