"""Figures for the failure index, on SQLite and on PostgreSQL. Prints them; asserts nothing.

    .venv/bin/python bench/index.py [--rows 250000] [--repeat 5] [--postgres postgres://postgres@127.0.0.1:5432]
                                    [--only sqlite|postgres] [--scan] [--latency-ms 50] [--writers 1,2]

The rows are the sandbox's big job's failure records (247,511 of them), made by its data
functions (no HTTP), patterns worked out once beforehand. For each database (a fresh SQLite
file, a fresh PostgreSQL database made and dropped here), in a process of its own:

1. write throughput: `write_failures` of every row into one index, in the batches a scan
   writes (COPY on PostgreSQL, bulk_create on SQLite), rows/s;
2. query times, median of --repeat runs: the reason groups, a search (case-insensitive
   contains on identifier and reason: its first page of 25 and its count), a page of 25
   filtered by a reason group (the first, and one deep in by OFFSET and after its last row),
   the group's breakdown by a masked value, the row lookup and the chunk list;
3. the export stream: every row read back in file order, rows/s.

With --scan, a real scan of that job over HTTP (at --latency-ms, with SCAN_CONCURRENCY pages
in flight) into the index, from the sandbox as a gunicorn of its own, against the ideal
pages x latency / concurrency, and the same pages read alone (nothing written). On
PostgreSQL once per --writers (INDEX_WRITERS: connections writing the batches side by side).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import each_database, median_ms, run_child  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument("--scan", action="store_true", help="also scan the job over HTTP into the index")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument(
        "--writers",
        default="1,2",
        help="the scans' INDEX_WRITERS on PostgreSQL, one scan each, in this order (SQLite writes with one)",
    )
    parser.add_argument(
        "--no-trigrams", action="store_true", help="drop the pg_trgm indexes first (what they cost, and give)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args)))
        return
    results = {}
    sandbox = None
    if args.scan:
        # Meteroid stands apart, as a remote one would: the sandbox in a gunicorn of its own.
        from bench.remote import _start_sandbox

        sandbox, base = _start_sandbox(args.latency_ms, {**os.environ, "LOG_LEVEL": "WARNING"})
        os.environ["METEROID_BASE_URL"] = base
        os.environ["METEROID_API_KEY"] = os.environ.get("SANDBOX_API_KEY", "pv_sand_demo0000000000000000")
    try:
        _each_database(args, results)
    finally:
        if sandbox is not None:
            sandbox.terminate()
            sandbox.wait(10)
    _report(args, results)


def _each_database(args: argparse.Namespace, results: dict) -> None:
    arguments = ["--rows", str(args.rows), "--repeat", str(args.repeat)]
    arguments += ["--scan"] * args.scan + ["--no-trigrams"] * args.no_trigrams + ["--writers", args.writers]
    results |= each_database(
        lambda url: run_child(__file__, arguments, url),
        only=args.only,
        postgres=args.postgres,
        prefix="bench-index",
    )


def _measure(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from dashboard.index import indexing, queries, reading
    from dashboard.index.models import IndexedJob
    from dashboard.index.reading import JobFailures
    from dashboard.index.rows import record_row
    from dashboard.index.writer import write_failures
    from dashboard.meteroid.records import Failure
    from dashboard.sandbox.world.data import SHOWCASE, failures_page, find_job

    call_command("migrate", verbosity=0)
    figures: dict = {"vendor": connection.vendor}
    if args.no_trigrams and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP INDEX index_failure_reason_folded_trgm, index_failure_identifier_folded_trgm"
            )

    job = find_job(20260325, SHOWCASE["big"])
    made = time.perf_counter()
    rows = []
    offset = 0
    while offset < min(args.rows, job.failure_count):
        page, _ = failures_page(job, offset=offset, limit=1000)
        rows.extend(record_row(Failure(*failure)) for failure in page)
        offset += len(page)
    rows = rows[: args.rows]
    figures["rows"] = len(rows)
    figures["rows_made_per_s"] = len(rows) / (time.perf_counter() - made)

    indexed = IndexedJob.objects.create(
        base_url="bench:", key_fingerprint="0" * 16, job_id=job.id, state_key="s", updated_at=timezone.now()
    )
    started, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(rows), indexing.BATCH_ROWS):
        write_failures(indexed, rows[start : start + indexing.BATCH_ROWS])
    figures["write_per_s"] = len(rows) / (time.perf_counter() - started)
    figures["write_cpu_per_s"] = len(rows) / (time.process_time() - cpu)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE index_indexedfailure")
    del rows

    def timed(call) -> float:
        return median_ms(call, args.repeat)

    groups = queries.reason_groups(indexed)
    biggest = queries.Filters(pattern_key=groups[0].pattern_key)
    deep = max(0, groups[0].count // 25 // 2)
    search = queries.Filters(search="cus_4f")
    before = queries.page(indexed, biggest, number=deep - 1)[-1] if deep else None
    after = (before.row, before.id) if before else None
    figures["groups"] = len(groups)
    figures["search_hits"] = queries.count(indexed, search)
    figures["ms"] = {
        "reason groups": timed(lambda: queries.reason_groups(indexed)),
        "search 'cus_4f': page of 25": timed(lambda: queries.page(indexed, search, number=0)),
        "search 'cus_4f': count": timed(lambda: queries.count(indexed, search)),
        "largest group: page 1 of 25": timed(lambda: queries.page(indexed, biggest, number=0)),
        f"largest group: page {deep + 1:,} of 25": timed(lambda: queries.page(indexed, biggest, number=deep)),
        "largest group: count": timed(lambda: queries.count(indexed, biggest)),
        f"largest group: page {deep + 1:,} after its last row": timed(
            lambda: queries.page_after(indexed, biggest, after=after)
        ),
        "largest group: breakdown by its first value": timed(
            lambda: queries.slot_values(indexed, groups[0].pattern_key, 0)
        ),
        "row lookup": timed(lambda: queries.at_row(indexed, 123_457)),
        "chunk list": timed(lambda: queries.chunks(indexed)),
    }
    # What the pages ask, as they ask it (dashboard.index.reading), cold: the groupings a
    # process keeps are dropped before each run.
    IndexedJob.objects.filter(pk=indexed.pk).update(
        status=IndexedJob.Status.DONE, summary=queries.summary_of(indexed), records=figures["rows"]
    )
    indexed.refresh_from_db()
    failures = JobFailures(indexed)

    def grouping() -> None:
        reading._memo.clear()
        failures.grouping_for(None)

    def searched(text: str):
        def run() -> None:
            ranked = failures.ranked(query=text)
            ranked.positions.page(0, 25)

        return run

    group_key = groups[0].pattern_key
    figures["page_ms"] = {
        "reason groups with their reasons, values, examples": timed(grouping),
        "summary of the index (at publish)": timed(lambda: queries.summary_of(indexed)),
        "search an identifier: counts + first page": timed(searched("cus_4f")),
        "search a word of a reason: counts + first page": timed(searched("not found")),
        "largest group: count + page 1": timed(
            lambda: (
                failures.select(group_key=group_key).page(0, 25) and len(failures.select(group_key=group_key))
            )
        ),
        "largest group: row ranges": timed(lambda: failures.select(group_key=group_key).row_ranges()),
        "row 123,457 located in its group": timed(
            lambda: failures.select(group_key=group_key).locate(123_457)
        ),
    }
    began = time.perf_counter()
    exported = sum(1 for _ in queries.stream(indexed))
    figures["export_per_s"] = exported / (time.perf_counter() - began)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for what, query in (("page", queries.failures(indexed, search)[:25]), ("count", None)):
                if query is None:
                    sql, params = (
                        queries.failures(indexed, search).order_by().values("id").query.sql_with_params()
                    )
                    sql = f"SELECT count(*) FROM ({sql}) AS hits"  # noqa: S608 (Django's own SQL)
                else:
                    sql, params = query.query.sql_with_params()
                cursor.execute("EXPLAIN " + sql, params)
                figures[f"search {what} uses pg_trgm"] = any("trgm" in line[0] for line in cursor.fetchall())
    if args.scan:
        writers = [int(n) for n in args.writers.split(",")] if connection.vendor == "postgresql" else [1]
        figures["scans"] = [_scan(job.id, args.latency_ms, n) for n in writers]
    return figures


def _scan(job_id: str, latency_ms: float, writers: int) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from dashboard.index import indexing
    from dashboard.index.models import IndexedJob
    from dashboard.index.sources import meteroid_rows, scope_of
    from dashboard.meteroid.cache import job_state_key
    from dashboard.meteroid.gateway import get_gateway
    from dashboard.meteroid.streaming import stream_failures

    settings.INDEX_WRITERS = writers
    gateway = get_gateway()
    scope = scope_of(gateway)
    job = gateway.job(job_id)
    # The scan before this one goes (it is of the same job and state), its space reclaimed.
    IndexedJob.objects.filter(base_url=scope.base_url, job_id=job_id).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM index_indexedfailure")
    indexed = IndexedJob.objects.create(
        base_url=scope.base_url,
        key_fingerprint=scope.key_fingerprint,
        job_id=job_id,
        state_key=job_state_key(job),
        updated_at=timezone.now(),
    )
    began = time.perf_counter()
    outcome = indexing.run_scan(indexed, meteroid_rows)
    seconds = time.perf_counter() - began
    indexed.refresh_from_db()
    # The same pages read alone (nothing written), for comparison.
    began = time.perf_counter()
    _, failures = stream_failures(gateway, job)
    for _ in failures:
        pass
    alone = time.perf_counter() - began
    pages = -(-min(job.failure_count, settings.SCAN_MAX_FAILURES) // 100)
    ideal = pages * latency_ms / 1000 / settings.SCAN_CONCURRENCY
    return {
        "writers": writers,
        "outcome": f"{outcome} {indexed.error}".strip(),
        "rows": indexed.records,
        "seconds": seconds,
        "alone": alone,
        "ideal": ideal,
    }


def _report(args: argparse.Namespace, results: dict) -> None:
    for name, figures in results.items():
        print(
            f"\n{name}: {figures['rows']:,} failure rows (rows made at {figures['rows_made_per_s']:,.0f}/s)"
        )
        print(
            f"  write          {figures['write_per_s']:>12,.0f} rows/s "
            f"({figures['write_cpu_per_s']:,.0f} per CPU second of this process)"
        )
        print(f"  export stream  {figures['export_per_s']:>12,.0f} rows/s (rows read back in file order)")
        print(f"  reason groups  {figures['groups']:>12,}   search hits {figures['search_hits']:,}")
        for what, ms in figures["ms"].items():
            print(f"  {what:<46} {ms:8.1f} ms")
        for what, ms in figures.get("page_ms", {}).items():
            print(f"  page: {what:<46} {ms:8.1f} ms")
        for what in ("page", "count"):
            if f"search {what} uses pg_trgm" in figures:
                print(f"  the search's {what} uses a pg_trgm index: {figures[f'search {what} uses pg_trgm']}")
        for scan in figures.get("scans", ()):
            print(
                f"  scan into the index over HTTP at {args.latency_ms:g} ms, {scan['writers']} writer"
                f"{'s' if scan['writers'] != 1 else ''}: {scan['outcome']}, "
                f"{scan['rows']:,} rows in {scan['seconds']:.1f} s (ideal {scan['ideal']:.1f} s, "
                f"x{scan['seconds'] / scan['ideal']:.2f}); the same pages read alone, nothing written: "
                f"{scan['alone']:.1f} s (x{scan['alone'] / scan['ideal']:.2f})"
            )
        print(f"  load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
