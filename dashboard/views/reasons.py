"""A job's failures grouped by reason: the groups, one group's exact reasons, and the
groups as CSV (the summary finance ops paste into a ticket)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from itertools import chain
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.failures.chunks import ChunkSummary, find_chunk
from dashboard.failures.exports import csv_chunks
from dashboard.failures.ranges import RangeText, describe
from dashboard.failures.search import MAX_QUERY_CHARS
from dashboard.index.reading import IndexedGroup, IndexedGrouping, JobFailures
from dashboard.index.status import ScanStatus
from dashboard.meteroid import deadline
from dashboard.meteroid.records import Failure, JobDetail
from dashboard.pages.charts import Bar, bar_chart
from dashboard.pages.forms import ReasonsQuery
from dashboard.pages.paging import Paging
from dashboard.pages.titles import reasons_title, title_tag
from dashboard.views.loading import (
    bad_form,
    chunk_is_unknown,
    load_job,
    no_such_chunk,
    no_such_group,
    scanned,
)
from dashboard.views.responses import no_such_page, streamed_download

REASONS = "reasons"  # the htmx target of the groups region
GROUPS_PER_PAGE = 50
EXACT_PER_PAGE = 50
EXACT_IN_FRAGMENT = 15
CHUNKS_NAMED = 3
RANGES_CHARS = 110  # row ranges shown per group on the page
CSV_RANGES_CHARS = 2000  # and in the CSV (a spreadsheet cell holds 32,767 characters)
CSV_WAIT_SECONDS = 8.0  # how long the CSV waits for a running scan before saying "not yet"


@dataclass(frozen=True, slots=True)
class GroupView:
    """One reason group as the page shows it."""

    group: IndexedGroup
    rows: RangeText
    chunks: list[tuple[str, int]]
    examples: list[Failure]
    chunk_rows: Mapping[str, str] = field(default_factory=dict)  # chunk id: "rows 201–250"

    @property
    def chunks_named(self) -> list[tuple[str, str, int]]:
        """(id, rows, failures) of the first chunks: a person finds a chunk by its rows."""
        return [(c, self.chunk_rows.get(c, ""), n) for c, n in self.chunks[:CHUNKS_NAMED]]

    @property
    def chunks_more(self) -> int:
        return max(0, len(self.chunks) - CHUNKS_NAMED)


def _group_view(group: IndexedGroup, ranges_chars: int) -> GroupView:
    return GroupView(
        group=group,
        rows=describe(group.row_ranges(), max_chars=ranges_chars),
        chunks=group.chunks(),
        examples=list(group.examples),
    )


def _scope(
    request: HttpRequest, job_id: str, *, wait: float = 0.0
) -> tuple[JobDetail, ReasonsQuery, ScanStatus, JobFailures | None]:
    """What every view here starts with: the job, the query, the index and its failures."""
    detail = load_job(job_id)
    form = ReasonsQuery(request.GET)
    if not form.is_valid():
        raise bad_form(form)
    scan, analysis = scanned(detail, wait=wait)
    chunk_id = form.cleaned_data["chunk"]
    if chunk_is_unknown(scan, chunk_id) or (
        analysis and chunk_id and not len(analysis.chunk_positions(chunk_id))
    ):
        raise no_such_chunk(detail, chunk_id)
    return detail, form, scan, analysis


def _base_context(detail: JobDetail, form: ReasonsQuery, scan: ScanStatus) -> dict:
    chunk_id = form.cleaned_data["chunk"]
    chunk: ChunkSummary | None = None
    if chunk_id and scan.result:
        chunk = find_chunk(scan.result.chunks, chunk_id)
    return {
        "job": detail,
        "form": form,
        "query": form.cleaned_data,
        "scan": scan,
        "chunk": chunk,
        "current_query": form.query(),
        "current_fields": [("chunk", chunk_id)] if chunk_id else [],
        "chunk_query": urlencode({"chunk": chunk_id}) if chunk_id else "",
    }


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def reasons(request: HttpRequest, job_id: str) -> HttpResponse:
    detail, form, scan, analysis = _scope(request, job_id)
    if not request.htmx and (canonical := form.canonical_query()) is not None:
        return redirect(f"{request.path}?{canonical}" if canonical else request.path)
    context = _base_context(detail, form, scan)
    if analysis is not None:
        grouping = analysis.grouping_for(form.cleaned_data["chunk"])
        paging = Paging(form.cleaned_data["page"], GROUPS_PER_PAGE, len(grouping.groups))
        if not paging.exists:
            return no_such_page(request, paging, "these reason groups", form.query(page=paging.pages))
        shown = grouping.groups[paging.offset : paging.offset + paging.per_page]
        chunk_rows = {c.chunk_id: c.rows for c in scan.result.chunks} if scan.result else {}
        chart = _chart(grouping)
        context |= {
            "grouping": grouping,
            "groups": [replace(_group_view(group, RANGES_CHARS), chunk_rows=chunk_rows) for group in shown],
            "rank_offset": paging.offset,
            "chart": chart,
            "chart_rest": len(grouping.groups) - sum(1 for bar in chart if bar.item is not None),
            "paging": paging,
            "page_links": [(n, form.query(page=n) if n else "") for n in paging.window()],
            "previous_query": form.query(page=paging.page - 1),
            "next_query": form.query(page=paging.page + 1),
        }
    context["page_title"] = reasons_title(detail, form.cleaned_data["chunk"], scan.result)
    if request.htmx and request.htmx.target == REASONS:
        # The groups alone, then the tab's title, which htmx takes: the chunk changed it.
        response = render(request, "jobs/reasons.html#reasons", context)
        response.content += title_tag(context["page_title"]).encode()
        return response
    return render(request, "jobs/reasons.html", context)


def _chart(grouping: IndexedGrouping) -> list[Bar]:
    return bar_chart([(group, group.count) for group in grouping.groups], grouping.total)


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def reason_group(request: HttpRequest, job_id: str, key: str) -> HttpResponse:
    """One reason group: its exact reasons, page by page (in a reasons page row, with htmx)."""
    detail, form, scan, analysis = _scope(request, job_id)
    context = _base_context(detail, form, scan) | {"key": key}
    fragment = bool(request.htmx and (request.htmx.target or "").startswith("exact-"))
    if analysis is not None:
        group = analysis.grouping_for(form.cleaned_data["chunk"]).find(key)
        if group is None:
            raise no_such_group(detail, key)
        paging = Paging(form.cleaned_data["page"], EXACT_PER_PAGE, group.distinct)
        if not paging.exists:
            return no_such_page(request, paging, "these reasons", form.query(page=paging.pages))
        per_page = EXACT_IN_FRAGMENT if fragment else paging.per_page
        exact = group.exact[paging.offset : paging.offset + per_page]
        context |= {
            "group": _group_view(group, CSV_RANGES_CHARS),
            "exact": [(reason, count, _search_link(detail, form, group, reason)) for reason, count in exact],
            "exact_more": group.distinct - len(exact) if fragment else 0,
            "paging": paging,
            "page_links": [(n, form.query(page=n) if n else "") for n in paging.window()],
            "previous_query": form.query(page=paging.page - 1),
            "next_query": form.query(page=paging.page + 1),
        }
    template = "jobs/reason.html"
    if fragment:
        template += "#exact-reasons"
    return render(request, template, context)


def _search_link(detail: JobDetail, form: ReasonsQuery, group: IndexedGroup, reason: str) -> str | None:
    """The job page showing the failures of one exact reason: its group, searched for it."""
    if len(reason) > MAX_QUERY_CHARS or reason != reason.strip():
        return None
    params = {"reason": group.key, "q": reason}
    if form.cleaned_data["chunk"]:
        params = {"chunk": form.cleaned_data["chunk"], **params}
    return f"{reverse('job', args=[detail.id])}?{urlencode(params)}"


REASONS_HEADER = (
    "pattern",
    "failures",
    "share_percent",
    "exact_reasons",
    "top_values",
    "rows",
    "chunks",
    "sample_row",
    "sample_identifier",
    "sample_reason",
    "reason_group",
    "link",
)


@require_GET
# A download reads much more than a page, on the client's own timeouts and retries.
@deadline.lifted()
def reasons_csv(request: HttpRequest, job_id: str) -> HttpResponse:
    """The reason groups as CSV, one line per group, largest first."""
    detail, form, scan, analysis = _scope(request, job_id, wait=CSV_WAIT_SECONDS)
    if analysis is None:
        return _not_ready(request, detail, form, scan)
    chunk_id = form.cleaned_data["chunk"]
    grouping = analysis.grouping_for(chunk_id)
    link_base = request.build_absolute_uri(reverse("job", args=[detail.id]))

    def rows() -> Iterator[list]:
        for group in grouping.groups:
            view = _group_view(group, CSV_RANGES_CHARS)
            sample = view.examples[0]
            params = {"chunk": chunk_id, "reason": group.key} if chunk_id else {"reason": group.key}
            yield [
                group.template.text,
                group.count,
                round(group.percent, 2),
                group.distinct,
                _values_text(group),
                str(view.rows),
                len(view.chunks),
                sample.row_number,
                sample.item_identifier,
                sample.reason,
                group.key,
                f"{link_base}?{urlencode(params)}",
            ]

    name = f"{detail.id}-reasons" + (f"-chunk-{chunk_id}" if chunk_id else "") + ".csv"
    chunks = csv_chunks(REASONS_HEADER, rows())
    # Made before answering, as every download's first batch: a problem found in it gets a page.
    first = next(chunks)
    return streamed_download(chain([first], chunks), what=f"reasons CSV of {detail.id}", filename=name)


def _values_text(group: IndexedGroup) -> str:
    """`plan id: plan_6co… (69), plan_2VZ… (51) and 3 more; version: 3 (32)`."""
    parts = []
    for slot in group.values:
        values = ", ".join(f"{value} ({count:,})" for value, count in slot.top)
        more = f" and {slot.more:,} more" if slot.more else ""
        parts.append(f"{slot.slot.label}: {values}{more}")
    return "; ".join(parts)


def _not_ready(request: HttpRequest, detail: JobDetail, form: ReasonsQuery, scan: ScanStatus) -> HttpResponse:
    """A file asked for before the scan has every failure: a page that says so (and looks
    again by itself), with a status that no download tool saves as the file."""
    context = _base_context(detail, form, scan)
    response = render(request, "jobs/not_ready.html", context, status=503)
    response["Retry-After"] = "2"
    response["Cache-Control"] = "no-store"
    return response
