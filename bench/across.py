"""Figures for the pages across jobs, on SQLite and on PostgreSQL. Prints them; asserts nothing.

    .venv/bin/python bench/across.py [--rows 1000000] [--jobs 40] [--repeat 5]
                                     [--postgres postgres://postgres@127.0.0.1:5432] [--only sqlite|postgres]

Fills a fresh database (a SQLite file, or a PostgreSQL database made and dropped here) with
`--rows` failures over `--jobs` published indexes of one Meteroid, one a day back from now:
the failure records of the sandbox's jobs (their reasons and identifiers as the sandbox makes
them), each job's rows given its own identifiers, written as a scan writes them. Then times,
median of --repeat runs, what the pages across jobs ask (dashboard.index.across, pages.causes):

- a search for an exact identifier (the jobs that match, with counts, and each one's first rows);
- a search for a word of a reason;
- the causes-across-jobs page (every cause of the window, its per-day counts and patterns);
- a cause's jobs (the largest cause's), and every cause as the causes CSV lists them.

Each index is published as a scan publishes it (`indexing.publish`: its summary and its
causes counted in one GROUP BY), whose time per index is printed too.

Targets on PostgreSQL: < 200 ms, < 300 ms, < 500 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import each_database, median_ms, run_child  # noqa: E402

TARGETS_MS = {"search an exact identifier": 200, "search a word of a reason": 300, "causes across jobs": 500}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args)))
        return
    arguments = ["--rows", str(args.rows), "--jobs", str(args.jobs), "--repeat", str(args.repeat)]
    results = each_database(
        lambda url: run_child(__file__, arguments, url),
        only=args.only,
        postgres=args.postgres,
        prefix="bench-across",
    )
    for name, figures in results.items():
        print(
            f"\n{name}: {figures['rows']:,} failures over {figures['jobs']} jobs, written at {figures['write_per_s']:,.0f} rows/s,"
            f" each index published in {figures['publish_ms']:,.0f} ms (median)"
        )
        for what, ms in figures["ms"].items():
            target = TARGETS_MS.get(what)
            print(
                f"  {what:<32} {ms:8.1f} ms" + (f"   (target on PostgreSQL < {target} ms)" if target else "")
            )
        print(
            f"  (exact identifier {figures['identifier']!r}: {figures['hits']} jobs; causes: {figures['causes']})"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _measure(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from dashboard.failures.search import clean_query
    from dashboard.index import across, indexing
    from dashboard.index.models import IndexedJob
    from dashboard.index.rows import record_row
    from dashboard.index.writer import write_failures
    from dashboard.meteroid.records import Failure
    from dashboard.pages import causes
    from dashboard.sandbox.world.data import SHOWCASE, failures_page, find_job

    call_command("migrate", verbosity=0)
    scope = indexing.Scope("https://meteroid.example", "0123456789abcdef")
    per_job = args.rows // args.jobs
    source = find_job(20260325, SHOWCASE["big"])
    now = timezone.now()
    written, started = 0, time.perf_counter()
    publish_times: list[float] = []
    for number in range(args.jobs):
        indexed = IndexedJob.objects.create(
            base_url=scope.base_url,
            key_fingerprint=scope.key_fingerprint,
            job_id=f"bjob_bench{number:04d}",
            state_key="s",
            job_type="CUSTOMER_CSV_IMPORT",
            job_status="COMPLETED_WITH_ERRORS",
            file_name=f"customers-{number:02d}.csv",
            job_created_at=now - timedelta(days=number * 30 / args.jobs),
            updated_at=now,
            status=IndexedJob.Status.RUNNING,
            lease_holder="bench",
        )
        offset = (number * 7919) % max(1, source.failure_count - per_job)
        rows = []
        while len(rows) < per_job:
            page, _ = failures_page(source, offset=offset + len(rows), limit=min(1000, per_job - len(rows)))
            for failure in page:
                fid, chunk, index, identifier, reason = failure
                # Each job's customers are its own: an identifier matches one job exactly.
                rows.append(
                    record_row(Failure(f"{fid}-{number}", chunk, index, f"{identifier}-j{number}", reason))
                )
        for start in range(0, len(rows), indexing.BATCH_ROWS):
            write_failures(indexed, rows[start : start + indexing.BATCH_ROWS])
        IndexedJob.objects.filter(pk=indexed.pk).update(records=len(rows))
        began = time.perf_counter()
        indexing.publish(indexed, "bench")
        publish_times.append(time.perf_counter() - began)
        written += len(rows)
    write_per_s = written / (time.perf_counter() - started)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("index_indexedfailure", "index_indexedjob", "index_indexedcause"):
                cursor.execute(f"ANALYZE {table}")

    def timed(call) -> float:
        return median_ms(call, args.repeat)

    indexes = across.current_indexes(scope, since=now - timedelta(days=31))
    some = indexes.order_by("pk")[args.jobs // 2]
    identifier = some.failures.exclude(identifier=None).order_by("row")[1000].identifier

    def search(text: str):
        def run() -> None:
            needle = clean_query(text)
            for match in across.matches(indexes, needle)[:10]:
                across.first_rows(match.index, needle, limit=5)

        return run

    query = {"days": 30, "type": "", "show": "", "page": 1}
    largest = across.causes(indexes)[0].key
    window = causes.window_of(query)
    return {
        "vendor": connection.vendor,
        "rows": written,
        "jobs": args.jobs,
        "write_per_s": write_per_s,
        "identifier": identifier,
        "hits": len(across.matches(indexes, clean_query(identifier))),
        "word_hits": sum(m.rows for m in across.matches(indexes, clean_query("ingestion window"))),
        "causes": len(across.causes(indexes)),
        "publish_ms": statistics.median(publish_times) * 1000,
        "ms": {
            "search an exact identifier": timed(search(identifier)),
            "search a word of a reason": timed(search("ingestion window")),
            "causes across jobs": timed(lambda: causes.causes_page(scope, query)),
            "a cause's jobs (the largest)": timed(lambda: causes.cause_jobs(scope, query, largest)),
            "every cause (the CSV)": timed(lambda: causes.all_causes(scope, query, window)),
        },
    }


if __name__ == "__main__":
    main()
