"""What the poll of an active job's page brings besides its summary.

The page polls once (the summary's poll); its answer carries, out of band, every other part
that moves with the job: the reason groups and the filters' chunk and reason lists when they
changed, and the reader's table or a word about it. A table never moves under a reader who
paged or filtered: they are told how many new failures there are, and show them when they
choose. When the job has ended, every part comes in its ended state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

# How the poll says what the page shows now (hidden inputs the poll includes).
SEEN_FIELD = "seen"  # the total of the reader's table, when it shows one
LISTS_FIELD = "lists"  # a digest of the reason groups and filter lists the page holds


@dataclass(frozen=True, slots=True)
class TableNews:
    """What the poll does with the reader's table: send it anew (`swap`), or tell of `new`
    failures it does not show yet (0: nothing to tell)."""

    swap: bool = False
    new: int = 0


def view_query(current_url: str | None, job_path: str) -> str:
    """The query string of the view the reader is on, from the address htmx reports
    (HX-Current-URL): it follows their paging and filters. Another page's address (or none)
    means the job's first page."""
    if not current_url:
        return ""
    parts = urlsplit(current_url)
    return parts.query if parts.path == job_path else ""


def follows_the_job(query: dict) -> bool:
    """Whether the reader is on the first page of the whole job, unfiltered: that table
    follows the job as it runs (rows per page are a way of seeing, not a filter)."""
    return query.get("page") in (None, 1) and not any(query.get(k) for k in ("chunk", "reason", "q", "row"))


def seen_count(raw: str | None) -> int | None:
    """The total of the table the page shows, as its poll reported it (None: no table)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        return None
    return int(raw)


def table_news(*, ended: bool, exists: bool, follows: bool, total: int | None, seen: int | None) -> TableNews:
    """What to do with the reader's table at one poll.

    `exists`: the reader's view still exists (a page or group that has gone is left as it
    is). `total`: the view's count now, None when it has no table to show (the scan is
    still being read, or Meteroid failed). `seen`: the count the page shows, None when it
    shows no table.
    """
    if not exists:
        return TableNews()
    if ended:
        return TableNews(swap=True)  # the ended state, once
    if seen is None:
        # The page shows progress or a problem, not rows: nothing for the reader to lose.
        return TableNews(swap=True)
    if total is None or total == seen:
        return TableNews()
    if follows:
        return TableNews(swap=True)
    return TableNews(new=max(0, total - seen))


def digest(*parts: str) -> str:
    """A short digest of rendered parts: the poll sends them again only when it changes."""
    hashed = hashlib.blake2b(digest_size=8)
    for part in parts:
        hashed.update(part.encode())
        hashed.update(b"\0")
    return hashed.hexdigest()
