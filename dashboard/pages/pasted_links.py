"""The view a pasted link to a job page names: its filters, kept when "Open a job" opens it.

A link copied from the dashboard (or a ticket that quotes one) carries the view's chunk,
reason group, search, page size or row. Only those parameters are kept, each only when valid
as the job page would take it: anything else in a pasted link (tracking parameters, a value
cut short by the ticket's formatting) is dropped, never passed on. A page number is dropped
too: it names no failure, and the job's pages move while it runs; a row link keeps its row.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from dashboard.pages.forms import JobPageQuery

# What a ticket's prose may stick to the end of a link: not part of it.
_TRAILING = ".,;:!)]}>\"'"


def _link_naming(text: str, job_id: str) -> str | None:
    """The word of `text` (a link, or a bare id) that names `job_id`."""
    for word in text.split():
        if job_id in word:
            return word.rstrip(_TRAILING)
    return None


def view_query(text: str, job_id: str) -> str:
    """The job page's query string for the view that the pasted `text` links to ("" for
    the job's first page): its known parameters that are valid, in the page's own form."""
    word = _link_naming(text, job_id)
    if not word or "?" not in word:
        return ""
    query = urlsplit(word).query if "://" in word or word.startswith("/") else word.split("?", 1)[1]
    known = set(JobPageQuery.base_fields) - {"page"}
    pairs = [(name, value) for name, value in parse_qsl(query.split("#", 1)[0]) if name in known]
    data: dict[str, str] = {}
    for name, value in pairs:
        data.setdefault(name, value)  # the first of a repeated parameter, as Django reads it
    form = JobPageQuery(data)
    if not form.is_valid():
        # Keep what is valid: drop each parameter the page would refuse.
        form = JobPageQuery({name: value for name, value in data.items() if name not in form.errors})
        if not form.is_valid():
            return ""
    return form.query()
