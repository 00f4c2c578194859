"""Tab titles that say what a page shows: the job's type and file and the filter, or the
list's filters. A person with ten tabs open tells them apart, and so does the history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from dashboard.index.status import IndexResult
from dashboard.meteroid.records import JOB_TYPES, STATUSES, JobDetail
from dashboard.templatetags.dashboard_tags import visible

SITE = "Meteroid failures"  # base.html ends every title with it
FILE_CHARS = 40
PATTERN_CHARS = 50
SEARCH_CHARS = 30


def job_title(job: JobDetail, query: Mapping[str, Any], result: IndexResult | None) -> str:
    """`Customers import · march.csv · rows 201-250 · page 2 · bjob_…`: the job, then the view."""
    parts = [job.type_label]
    if job.input_file_name:
        parts.append(Truncator(visible(job.input_file_name)).chars(FILE_CHARS))
    chunk_id = query.get("chunk") or ""
    if chunk_id:
        chunk = next((c for c in result.chunks if c.chunk_id == chunk_id), None) if result else None
        parts.append(chunk.rows if chunk else f"chunk {chunk_id}")
    key = query.get("reason") or ""
    if key:
        group = next((g for g in result.groups if g.key == key), None) if result else None
        words = group.template.words if group else f"reason group {key}"
        parts.append(f"“{Truncator(words).chars(PATTERN_CHARS)}”")
    if query.get("q"):
        parts.append(f"search “{Truncator(visible(query['q'])).chars(SEARCH_CHARS)}”")
    if query.get("row"):
        parts.append(f"row {query['row']:,}")
    elif (query.get("page") or 1) > 1:
        parts.append(f"page {query['page']:,}")
    parts.append(job.id)
    return " · ".join(parts)


def reasons_title(job: JobDetail, chunk_id: str, result: IndexResult | None) -> str:
    """`Why rows failed · Customers import · march.csv · rows 201-250 · bjob_…`."""
    parts = ["Why rows failed", job.type_label]
    if job.input_file_name:
        parts.append(Truncator(visible(job.input_file_name)).chars(FILE_CHARS))
    if chunk_id:
        chunk = next((c for c in result.chunks if c.chunk_id == chunk_id), None) if result else None
        parts.append(chunk.rows if chunk else f"chunk {chunk_id}")
    parts.append(job.id)
    return " · ".join(parts)


def jobs_title(query: Mapping[str, Any]) -> str:
    """`Batch jobs · Customers import · Failed, Cancelled · page 2`."""
    parts = ["Batch jobs"]
    if query.get("type"):
        parts.append(JOB_TYPES.get(query["type"], query["type"]))
    if query.get("status"):
        parts.append(", ".join(STATUSES.get(s, s) for s in query["status"]))
    if (query.get("page") or 1) > 1:
        parts.append(f"page {query['page']:,}")
    return " · ".join(parts)


def search_title(query: Mapping[str, Any]) -> str:
    """`Search “acme-42” · last 30 days · Customers import · page 2`: what was asked, where."""
    if not query.get("q"):
        return "Find it across jobs"
    parts = [f"Search “{Truncator(visible(query['q'])).chars(SEARCH_CHARS)}”", f"last {query['days']} days"]
    if query.get("type"):
        parts.append(JOB_TYPES.get(query["type"], query["type"]))
    if (query.get("page") or 1) > 1:
        parts.append(f"page {query['page']:,}")
    return " · ".join(parts)


def title_tag(title: str) -> SafeString:
    """A `<title>` beside an htmx fragment: htmx takes it as the tab's new title."""
    return format_html("<title>{} · {}</title>", title, SITE)
