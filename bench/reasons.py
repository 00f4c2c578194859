"""Figures for whole-job work on the 200,000-failure job: scan, grouping, memory, search, export.
Prints them; asserts nothing.

    .venv/bin/python bench/reasons.py [--latency-ms 50]

The sandbox runs as its own gunicorn process with added latency, standing in for a remote
Meteroid; the dashboard's code runs in this process, talking to it over HTTP. Peak memory is
this process's high-water mark (VmHWM), which the scan and grouping set: nothing else here
holds that much.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.remote import remote_sandbox  # noqa: E402


def _rss_mb(field: str) -> float:
    """A memory figure of this process from /proc (VmRSS now, VmHWM peak), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds(root: int) -> dict[int, float]:
    """CPU time (user + system) of a process and of each of its live children, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid == root or ppid == root:
            seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def _since(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    return {pid: seconds - before.get(pid, 0.0) for pid, seconds in after.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()

    with remote_sandbox(args.latency_ms) as sandbox:
        _run(args, sandbox.pid)


def _run(args: argparse.Namespace, sandbox_pid: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from dashboard.analysis import Analysis, analysis_of
    from dashboard.meteroid.gateway import get_gateway
    from dashboard.sandbox.data import SHOWCASE
    from dashboard.scan import PAGE_SIZE, publish, run_scan, with_groups

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    gateway = get_gateway()
    big = gateway.job(SHOWCASE["big"])
    baseline = _rss_mb("VmRSS")

    # The scan: pages of 100 with SCAN_CONCURRENCY in flight, against the ideal where every
    # request costs only the sandbox's latency.
    latency = args.latency_ms / 1000
    wanted = min(big.failure_count, settings.SCAN_MAX_FAILURES)
    pages = -(-wanted // PAGE_SIZE)
    concurrency = settings.SCAN_CONCURRENCY
    ideal = pages * latency / concurrency
    load = os.getloadavg()
    cpu, sandbox_cpu = time.process_time(), _cpu_seconds(sandbox_pid)
    start = time.perf_counter()
    failures, result = run_scan(gateway, big)
    took = time.perf_counter() - start
    cpu, sandbox_cpu = time.process_time() - cpu, _since(sandbox_cpu, _cpu_seconds(sandbox_pid))
    workers = sorted((seconds for pid, seconds in sandbox_cpu.items() if pid != sandbox_pid), reverse=True)
    sandbox_total = sum(sandbox_cpu.values())
    print(
        f"Scan of {big.id}: {len(failures):,} failures, {len(result.chunks):,} chunks, "
        f"{pages:,} pages, {concurrency} in flight, sandbox latency {args.latency_ms:.0f} ms"
    )
    print(
        f"  measured {took:6.2f} s   ideal pages*latency/concurrency {ideal:6.2f} s   "
        f"ratio {took / ideal:.2f}x   (target: <= 1.3x)"
    )
    per_page = took * concurrency / pages
    print(
        f"  a page every {per_page * 1000:.1f} ms in each of the {concurrency} slots: {latency * 1000:.0f} ms "
        f"of latency, {(per_page - latency) * 1000:.1f} ms of work and of waiting for a core or a GIL"
    )
    print(
        f"  CPU: dashboard {cpu:.2f} s ({cpu / pages * 1000:.2f} ms a page), sandbox {sandbox_total:.2f} s "
        f"({sandbox_total / pages * 1000:.2f} ms a page; its workers "
        f"{' + '.join(f'{seconds:.2f}' for seconds in workers)} s), on {os.cpu_count()} cores"
    )
    # The machine's other work takes cores from both processes; a worker that got most of the
    # scan's connections (they are kept alive) serves most of its pages under one GIL.
    print(
        f"  load average {load[0]:.1f} before the scan (5 and 15 min: {load[1]:.1f}, {load[2]:.1f}), "
        f"{os.getloadavg()[0]:.1f} after"
    )

    # Grouping, as the scan's thread does it once per result: distinct reasons normalised,
    # every failure mapped to its pattern, groups with their values and examples.
    cpu, start = time.process_time(), time.perf_counter()
    analysis = analysis_of(failures)
    grouping = analysis.grouping
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"Grouping {len(failures):,} failures: {len(analysis.reasons.exact):,} distinct reasons, "
        f"{len(grouping.groups)} patterns"
    )
    print(f"  first time {took:6.3f} s (CPU {cpu:.3f} s)   (target: < 1 s)")
    timings = []
    for _ in range(3):
        cpu, start = time.process_time(), time.perf_counter()
        _ = Analysis(failures).grouping
        timings.append((time.perf_counter() - start, time.process_time() - cpu))
    best = min(timings)
    print(
        f"  again, from scratch: best of 3 {best[0]:6.3f} s (CPU {best[1]:.3f} s)   load average {os.getloadavg()[0]:.1f}"
    )
    result = with_groups(result, failures)
    peak = _rss_mb("VmHWM")
    print("Memory of this process (scan, then grouping)")
    print(
        f"  before {baseline:6.0f} MB   peak {peak:6.0f} MB   peak - before {peak - baseline:6.0f} MB   "
        f"(target: peak < 300 MB)"
    )

    # Search, cold (folding the identifiers and reasons once) and warm.
    start = time.perf_counter()
    hits = analysis.select(query="kestrel")
    cold = time.perf_counter() - start
    start = time.perf_counter()
    broad = analysis.select(query="customer")
    warm = time.perf_counter() - start
    print(
        f"Search: 'kestrel' {len(hits):,} hits in {cold * 1000:.0f} ms (first search)   "
        f"'customer' {len(broad):,} hits in {warm * 1000:.0f} ms"
    )

    # Export through the view, streamed as a browser would read it, from the scanned set.
    user = get_user_model().objects.create_user("bench")
    client = Client()
    client.force_login(user)
    publish(gateway, result, failures)  # as the scan's thread does: the view finds it
    top = grouping.groups[0]
    for label, query, rows in (
        ("whole job", "", len(failures)),
        ("one reason group", f"?reason={top.key}", top.count),
    ):
        start = time.perf_counter()
        response = client.get(f"/jobs/{big.id}/failures.csv{query}")
        assert response.status_code == 200, response.status_code
        size = sum(len(chunk) for chunk in response.streaming_content)
        took = time.perf_counter() - start
        print(
            f"Export ({label}): {rows:,} rows, {size / 1e6:.1f} MB in {took:.2f} s   "
            f"{rows / took:,.0f} rows/s"
        )
    print(f"  peak memory of this process so far {_rss_mb('VmHWM'):.0f} MB")


if __name__ == "__main__":
    main()
