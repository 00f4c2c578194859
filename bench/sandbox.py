"""Figures for the in-process sandbox server: time per request on a kept-alive connection.
Prints them; asserts nothing.

    .venv/bin/python bench/sandbox.py [--requests 200]

Headers and body go out in separate writes: with Nagle's algorithm on, delayed ACKs would
cost some 40 ms a request on loopback, which is what the figure would show.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402

from dashboard.sandbox.api.server import sandbox_base_url  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    base = sandbox_base_url()
    times = []
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {settings.SANDBOX_API_KEY}"
        session.get(f"{base}/_stats", timeout=10)
        for _ in range(args.requests):
            started = time.perf_counter()
            session.get(f"{base}/_stats", timeout=10).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        f"sandbox, kept-alive connection, {args.requests} requests: "
        f"p50 {statistics.median(times):.2f} ms, p99 {times[int(len(times) * 0.99) - 1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
