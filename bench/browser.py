"""Page weight and time to a visible table, in Chromium. Prints figures; asserts nothing.

    .venv/bin/python bench/browser.py [--latency-ms 50] [--rounds 5]

The dashboard runs as `make demo` prepares it and the Procfile serves it (gunicorn, collected
static files: hashed names, gzip copies), on its built-in sandbox with added latency standing
in for a remote Meteroid. Chromium is Debian's, headless, with an empty cache per context.

Weight: every response a page load brings, by kind, as decoded bytes, as gzip -9 would send
them, and as they came over the wire (WhiteNoise serves static files gzipped; Django sends
HTML as is: compressing it is a proxy's business, and would need care with the CSRF token).

Time: from navigation start to the paint of the table's first cell (Element Timing API), with
the time to the answer's first byte beside it. Cold: a new browser context (nothing
cached) and a page the dashboard has never fetched from Meteroid. Warm: the same page again in
the same context (static files from the browser's cache, data from the dashboard's cache).
Also: a chunk change on the job page, from the change to the paint of the new table.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from dashboard.sandbox.world.data import SHOWCASE  # noqa: E402
from tests.e2e.server import Dashboard, Setup, prepare  # noqa: E402
from tests.e2e.support import LAUNCH, log_in  # noqa: E402

# Records when the first cell of the table named by window.__benchTable is painted: the
# Element Timing API reports the paint of text whose element carries `elementtiming`, which a
# MutationObserver adds as the parser inserts the cell.
WATCH = """
(() => {
  new PerformanceObserver(list => {
    for (const entry of list.getEntries()) {
      if (entry.identifier === 'bench-table' && window.__tableFrame === undefined) {
        window.__tableFrame = entry.renderTime || entry.loadTime;
      }
    }
  }).observe({type: 'element', buffered: true});
  const mark = () => {
    const selector = window.__benchTable;
    if (!selector || window.__tableFrame !== undefined) return;
    const cells = `${selector}:not([data-bench=old]) tbody td`;
    for (const element of document.querySelectorAll(`${cells}, ${cells} *`)) {
      if (!element.hasAttribute('elementtiming')) element.setAttribute('elementtiming', 'bench-table');
    }
  };
  new MutationObserver(mark).observe(document, {childList: true, subtree: true});
})();
"""


def _kind(url: str, resource_type: str) -> str:
    if resource_type == "document":
        return "HTML"
    if resource_type == "stylesheet":
        return "CSS"
    if resource_type == "script":
        return "JS (htmx)" if "/vendor/htmx" in url else "JS (own)"
    return "other"


def weigh(page: Page, url: str) -> dict[str, list[int]]:
    """Decoded, gzip -9 and wire bytes of everything loading `url` brings, by kind."""
    responses = []
    page.on("response", lambda response: responses.append(response))
    page.goto(url, wait_until="load")
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for response in responses:
        body = response.body()
        headers = response.headers
        wire = int(headers.get("content-length", len(body)))
        entry = sizes[_kind(response.url, response.request.resource_type)]
        entry[0] += 1
        entry[1] += len(body)
        entry[2] += len(gzip.compress(body, 9))
        entry[3] += wire
    return sizes


def print_weight(title: str, sizes: dict[str, list[int]]) -> None:
    print(f"{title}")
    print(f"  {'':12} {'files':>5} {'bytes':>9} {'gzip -9':>9} {'on the wire':>12}")
    total = [0, 0, 0, 0]
    for kind in ("HTML", "CSS", "JS (htmx)", "JS (own)", "other"):
        if kind not in sizes:
            continue
        n, raw, gz, wire = sizes[kind]
        total = [a + b for a, b in zip(total, (n, raw, gz, wire), strict=True)]
        print(f"  {kind:12} {n:5} {raw:9,} {gz:9,} {wire:12,}")
    print(f"  {'total':12} {total[0]:5} {total[1]:9,} {total[2]:9,} {total[3]:12,}")


def table_time(page: Page, url: str, table: str) -> tuple[float, float]:
    """Milliseconds from navigation start to the paint of `table`'s first cell, and to the
    first byte of the answer (the server's share, mostly)."""
    page.add_init_script(f"window.__benchTable = {table!r};")
    page.goto(url, wait_until="commit")
    page.wait_for_function("() => window.__tableFrame !== undefined", timeout=30_000)
    return page.evaluate("[window.__tableFrame, performance.getEntriesByType('navigation')[0].responseStart]")


def swap_time(page: Page, chunk: str) -> float:
    """Milliseconds from choosing a chunk (its change event) to the paint of the new table's
    first cell."""
    page.evaluate(
        """() => {
            document.querySelector('table.failures').dataset.bench = 'old';
            window.__tableFrame = undefined;
            document.addEventListener('change', () => { window.__changeAt = performance.now(); },
                                      {once: true, capture: true});
        }"""
    )
    page.locator("#chunk").select_option(chunk)
    page.wait_for_function("() => window.__tableFrame !== undefined", timeout=30_000)
    return page.evaluate("window.__tableFrame - window.__changeAt")


def _spread(times: list[tuple[float, float]]) -> str:
    frames = [frame for frame, _ in times]
    first_byte = statistics.median(byte for _, byte in times)
    return (
        f"{statistics.median(frames):4.0f} ({min(frames):.0f}–{max(frames):.0f}; first byte {first_byte:.0f})"
    )


def logged_in_context(browser: Browser, server: Dashboard, setup: Setup):
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto("/accounts/login/")
    log_in(page, setup.username, setup.password)
    page.wait_for_url("**/jobs/")
    return context


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    setup = prepare(Path(tempfile.mkdtemp(prefix="bench-browser-")))
    server = Dashboard(setup, name="bench", SANDBOX_LATENCY_MS=str(args.latency_ms)).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**LAUNCH)
            _run(args, browser, server, setup)
            browser.close()
    finally:
        server.stop()


def _run(args: argparse.Namespace, browser: Browser, server: Dashboard, setup: Setup) -> None:
    job = SHOWCASE["customers"]
    big = SHOWCASE["big"]
    print(f"Chromium {browser.version}, sandbox latency {args.latency_ms:.0f} ms, {args.rounds} rounds\n")

    for title, url in (("Jobs list (/jobs/)", "/jobs/"), (f"Job page (/jobs/{job}/)", f"/jobs/{job}/")):
        context = logged_in_context(browser, server, setup)
        print_weight(title, weigh(context.new_page(), url))
        context.close()
    print()

    print("Navigation start to the table painted, ms: median (min–max; median to first byte)")
    cases = [
        (
            "jobs list",
            "table.jobs",
            lambda n: f"/jobs/?per_page={(10, 25, 50, 100)[n % 4]}&page={n // 4 + 1}",
        ),
        ("job page", "table.failures", lambda n: f"/jobs/{job}/?page={n + 1}"),
        ("job page, 247,511 failures", "table.failures", lambda n: f"/jobs/{big}/?page={n + 100}"),
    ]
    for name, table, url_of in cases:
        cold, warm = [], []
        for n in range(args.rounds):
            context = logged_in_context(browser, server, setup)
            page = context.new_page()
            cold.append(table_time(page, url_of(n), table))
            page.goto("/accounts/login/")  # away, then back as a person would come back
            warm.append(table_time(page, url_of(n), table))
            context.close()
        print(f"  {name:28} cold {_spread(cold)}   warm {_spread(warm)}")

    context = logged_in_context(browser, server, setup)
    page = context.new_page()
    page.add_init_script("window.__benchTable = 'table.failures';")
    page.goto(f"/jobs/{job}/")
    chunks = page.locator("#chunk option").evaluate_all("os => os.slice(1).map(o => o.value)")
    while not chunks:
        page.wait_for_timeout(200)
        chunks = page.locator("#chunk option").evaluate_all("os => os.slice(1).map(o => o.value)")
    swaps = [swap_time(page, chunks[n % len(chunks)]) for n in range(args.rounds * 2)]
    print(
        f"  {'chunk change (htmx swap)':28} first {swaps[0]:6.0f}   median {statistics.median(swaps):.0f}"
        f" ({min(swaps):.0f}–{max(swaps):.0f})"
    )
    context.close()


if __name__ == "__main__":
    main()
