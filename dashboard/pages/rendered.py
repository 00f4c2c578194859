"""Job pages kept rendered in the cache.

An ended job's data does not change while its state holds (a retry that reopens it gives it
another), so the data part of each view of it (its summary, reason groups, filters and one
page of failures, or that page alone for htmx) is the same HTML for everyone who asks, until
the job's state changes or its scan is redone. That HTML is kept in the cache, shared by
every process, so that a view seen before costs two small reads instead of reading the page
of failures, the analysis, and rendering them again. What differs per person (the forms
that carry a CSRF token, the stale-copy banner, who is logged in) stays outside it.

A key names everything the HTML is made from: the release (the code and templates that
render it), the job's state as Meteroid last described it (`job_state_key`), the scan it
was rendered with, and the view's query and fragment. Anything that changes one of them asks for another key; old
entries are simply no longer asked for and expire. Since a key says what its HTML is, each
process also keeps the pages it served last in its own memory (`LOCAL_ENTRIES` at most), which
spares the round trip to a shared cache for the views asked most.
"""

from __future__ import annotations

import hashlib
import logging
import time
from functools import cache as memoize
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.utils.safestring import SafeString, mark_safe

from dashboard.index.status import ScanStatus
from dashboard.meteroid import cache as meteroid_cache
from dashboard.meteroid.records import JobDetail

logger = logging.getLogger(__name__)

FORMAT = "rendered/2"
LOCAL_ENTRIES = 400  # a page's data part is 10 to 90 kB: some 4 to 36 MB at most

# Django's local-memory cache: the least recently used entry goes first, each expires.
local = LocMemCache("rendered-pages", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": LOCAL_ENTRIES}})


def sources() -> tuple[tuple[Path, str], ...]:
    """What renders pages: the dashboard's modules and the templates (folder, glob)."""
    return ((Path(__file__).resolve().parents[1], "*.py"), (Path(settings.BASE_DIR) / "templates", "*.html"))


def digest_of(folders: tuple[tuple[Path, str], ...]) -> str:
    """A digest of every file these folders hold under their pattern, names and contents."""
    digest = hashlib.sha256()
    for folder, pattern in folders:
        for path in sorted(folder.rglob(pattern)):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@memoize
def release() -> str:
    """A digest of the code and templates that render pages: a new release renders anew."""
    return digest_of(sources())


def key_for(job: JobDetail, scan: ScanStatus, query: str, fragment: str) -> str | None:
    """The key of one view of an ended job whose scan is done, else None: an active job's
    pages change by the second, and a page that shows a scan's progress changes with it."""
    if not job.is_terminal or scan.state != "done" or scan.refreshing or scan.result is None:
        return None
    result = scan.result
    # A job without failures gets a result made up on the spot: it has no time of its own.
    finished = result.finished_at if result.scanned else 0.0
    made_from = repr(
        (
            release(),
            meteroid_cache.job_state_key(job),
            finished,
            result.scanned,
            result.total_count,
            result.capped,
            result.provisional,
        )
    )
    digest = hashlib.sha256(f"{made_from}|{query}|{fragment}".encode()).hexdigest()[:40]
    return f"rendered:{job.id}:{digest}"


def get(key: str) -> SafeString | None:
    html = local.get(key)
    if html is not None:
        return mark_safe(html)  # noqa: S308 (HTML this module stored, rendered by our templates)
    try:
        entry = cache.get(key)
    except Exception:
        logger.warning("Cache read failed; rendering the page instead", exc_info=True)
        return None
    if isinstance(entry, tuple) and len(entry) == 3 and entry[0] == FORMAT and isinstance(entry[2], str):
        # The shared entry's expiry, so that no process keeps a copy longer than the cache does.
        remaining = entry[1] - time.time()
        if remaining > 0:
            local.set(key, entry[2], remaining)
            return mark_safe(entry[2])  # noqa: S308 (as above)
    return None


def put(key: str, html: str, job: JobDetail) -> None:
    """Keep `html` as long as the job's failures are kept under its state."""
    seconds = meteroid_cache.lifetime("failures", job)
    local.set(key, str(html), seconds)
    try:
        cache.set(key, (FORMAT, time.time() + seconds, str(html)), seconds)
    except Exception:
        logger.warning("Cache write failed; the page is served without keeping it", exc_info=True)
