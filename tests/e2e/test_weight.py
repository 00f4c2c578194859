"""What a page costs to load: only the dashboard's own files (the fixtures fail any test whose
pages ask another origin), compressed and cached for good, and a few kB of our own script
beside htmx. bench/browser.py prints the full figures."""

from __future__ import annotations

import gzip
import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, Response

from dashboard.sandbox.world.data import SHOWCASE

# Bytes of our own JavaScript, gzipped, on any page: filters (with lists applied when chosen),
# times, copy link, focus (with the arrow keys of table rows), row links.
OWN_SCRIPT_BUDGET = 5 * 1024


def _load(page: Page, path: str) -> list[Response]:
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    page.goto(path, wait_until="load")
    return responses


def test_static_files_come_hashed_compressed_and_cached_for_good(page: Page):
    for path in ("/jobs/", f"/jobs/{SHOWCASE['customers']}/"):
        static = [r for r in _load(page, path) if urlsplit(r.url).path.startswith("/static/")]
        kinds = {r.request.resource_type for r in static}
        assert {"script", "stylesheet"} <= kinds
        for response in static:
            name = urlsplit(response.url).path
            assert re.search(r"\.[0-9a-f]{12}\.\w+$", name), name
            assert "immutable" in response.headers["cache-control"], name
            if response.request.resource_type in ("script", "stylesheet"):
                assert response.headers.get("content-encoding") == "gzip", name


def test_our_own_script_is_a_few_kb_beside_htmx(page: Page):
    scripts = [
        r for r in _load(page, f"/jobs/{SHOWCASE['customers']}/") if r.request.resource_type == "script"
    ]
    vendored = [r for r in scripts if "/static/vendor/" in r.url]
    own = [r for r in scripts if r not in vendored]
    assert [urlsplit(r.url).path.split("/")[-1].split(".")[0] for r in vendored] == ["htmx"]
    size = sum(len(gzip.compress(r.body(), 9)) for r in own)
    assert 0 < size <= OWN_SCRIPT_BUDGET, f"{size:,} bytes gzipped"
