"""One batch job: its summary, its largest reason groups, and its failures page by page,
filtered by chunk, reason group and search, or opened at one row."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.failures.chunks import find_chunk, is_whole_chunk
from dashboard.failures.reasons import GroupSummary, summarize_groups
from dashboard.failures.search import clean_query, match_note
from dashboard.failures.whole_chunks import RowAccount, reads_chunk_rows
from dashboard.index.reading import JobFailures
from dashboard.index.status import ScanStatus, retry_scan, scan_status, settled
from dashboard.meteroid import freshness
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import Failure, JobDetail
from dashboard.pages import live, rendered
from dashboard.pages.failure_table import failure_rows
from dashboard.pages.forms import FAILURES_PER_PAGE, JobPageQuery, ReasonsQuery
from dashboard.pages.job_story import Story, job_story
from dashboard.pages.paging import Paging
from dashboard.pages.titles import job_title, title_tag
from dashboard.views.loading import (
    bad_form,
    chunk_is_unknown,
    load_job,
    no_such_chunk,
    no_such_group,
    row_account,
    scanned,
)
from dashboard.views.problems import Problem
from dashboard.views.responses import no_such_page

# Fragments of the job page that htmx asks for by the id of the element they replace.
SUMMARY = "job-summary"
ACCOUNT = "job-account"  # where an ended job's failed rows were found, once they are read
FAILURES = "failures"
REASON_SUMMARY = "reason-summary"
SUMMARY_GROUPS = 5  # reason groups named above the table
# A table that Meteroid was too slow for asks again this long after it was shown.
SLOW_RETRY_SECONDS = 5
# The poll that sees a job ended waits this long for the scan of its end, so that the page's
# chunk and reason lists come in their ended state with it.
LIVE_END_WAIT_SECONDS = 3.0


def story_of(detail: JobDetail, scan: ScanStatus | None, rows: RowAccount, now: datetime) -> Story | None:
    """What is known of a failed job without failure records, or of a stuck one."""
    errors = scan.result.chunk_errors if scan and scan.result else ()
    return job_story(detail, rows, chunk_errors=errors, now=now)


def reason_counts(
    detail: JobDetail, scan: ScanStatus, chunk_id: str, analysis: JobFailures | None = None
) -> tuple[tuple[GroupSummary, ...], str, int]:
    """The reason groups that the summary above the table and the reason filter count, and
    over what: "chunk" (within the chosen chunk) or "job" (the whole job's counts, which is
    all there is while the chunk's own cannot be had), and how many groups there are in all."""
    result = scan.result
    if result is None:
        return (), "job", 0
    if not chunk_id:
        return result.groups, "job", result.group_count
    if analysis is None and scan.state == "done":
        scan, analysis = scanned(detail, scan=scan)
    if analysis is None:
        return result.groups, "job", result.group_count
    grouping = analysis.grouping_for(chunk_id)
    limit = len(result.groups) or SUMMARY_GROUPS
    return summarize_groups(grouping, limit), "chunk", len(grouping.groups)


def has_chunk_rows(scan: ScanStatus) -> bool:
    """Whether the scan holds rows of whole failed chunks: the job's table then comes from
    it, since Meteroid's pages of failures never list them."""
    return bool(scan.result and scan.result.chunk_rows)


@require_GET
@vary_on_headers("HX-Request", "HX-Target", "HX-Current-URL")
def job(request: HttpRequest, job_id: str) -> HttpResponse:
    detail = load_job(job_id)
    target = request.htmx.target if request.htmx else None
    # A job seen ended that is active again was retried: the page says so while it runs.
    context = {
        "job": detail,
        "now": timezone.now(),
        "reopened": get_gateway().reopened(detail),
        "reads_chunk_rows": reads_chunk_rows(detail),
    }
    if target == ACCOUNT:  # asked once its failed rows are read; the job may have reopened since
        scan = scan_status(detail)
        context["account"] = row_account(detail, scan)
        context["story"] = story_of(detail, scan, context["account"], context["now"])
        return render(request, "jobs/job.html#account", context)
    if target == SUMMARY:
        # The poll of an active job's page: one answer for every part of it that moves.
        return live_parts(request, detail, context)

    form = JobPageQuery(request.GET)
    if not form.is_valid():
        raise bad_form(form)
    if not request.htmx and (canonical := form.canonical_query()) is not None:
        # A plain form submits every field, empty ones too: land on the address links use.
        return redirect(f"{request.path}?{canonical}" if canonical else request.path)
    scan = scan_status(detail)
    # The table alone, asked for another chunk than the page shows: its answer carries the
    # reason counts above and in the reason filter too, which follow the chunk.
    oob = target == FAILURES and _chunk_of(request.htmx.current_url) != form.cleaned_data["chunk"]
    context["reasons_oob"] = oob
    title = job_title(detail, form.cleaned_data, scan.result)
    context["page_title"] = title
    kept = None
    if target != REASON_SUMMARY:
        # A view of an ended job seen before: its data part comes rendered from the cache.
        fragment = ("failures+reasons" if oob else "failures") if target == FAILURES else "page"
        kept = rendered.key_for(detail, scan, form.query(), fragment)
        body = rendered.get(kept) if kept else None
        if body is not None:
            return _page(request, detail, form, body, title, fragment=target == FAILURES)
    if target == REASON_SUMMARY:
        fill_context(request, detail, form, scan, context, table=False)
        return render(request, "jobs/job.html#reason-summary", context)
    fill_context(request, detail, form, scan, context)

    error = context.get("failures_error")
    # A page made from an old copy (Meteroid failed) is not kept: it would outlive the copy's
    # banner. Neither is an error, nor a page waiting for the scan.
    if kept and not error and not context.get("waiting") and not freshness.current():
        body = render_to_string(
            "jobs/job.html#failures" if target == FAILURES else "jobs/job.html#body", context, request
        )
        rendered.put(kept, body, detail)
        return _page(request, detail, form, body, title, fragment=target == FAILURES)
    template = "jobs/job.html"
    if target == FAILURES:
        template += "#failures"
    response = render(request, template, context, status=error.http_status if error else 200)
    if target == FAILURES:
        response.content += title_tag(title).encode()
    if error and error.retry_after_seconds:
        response["Retry-After"] = str(error.retry_after_seconds)
    return response


def fill_context(
    request: HttpRequest,
    detail: JobDetail,
    form: JobPageQuery,
    scan: ScanStatus,
    context: dict,
    *,
    table: bool = True,
) -> None:
    """Add to `context` what the job page shows of the view `form` asks for: its summary's
    account, filters and reason groups, then (with `table`) its table. Raises the `Problem`
    of a view that does not exist (no such chunk, group or page)."""
    query = form.cleaned_data
    chunk_id, reason, row = query["chunk"], query["reason"], query["row"]
    # The rows of whole failed chunks are only in the scan: a table that holds them is made
    # from it, like a filtered one.
    from_scan = form.filtered or is_whole_chunk(chunk_id) or has_chunk_rows(scan)
    needs_scan = from_scan or row is not None
    # Only the views that need every failure load them; the summary needs the scan's result.
    analysis = None
    if needs_scan:
        scan, analysis = scanned(detail, scan=scan)
    context |= {
        "form": form,
        "query": query,
        "scan": scan,
        "account": (rows_account := row_account(detail, scan)),
        "story": story_of(detail, scan, rows_account, context["now"]),
        "per_page_choices": FAILURES_PER_PAGE,
        "current_query": form.query(),
        "current_fields": parse_qsl(form.query()),
        "export_query": form.query(page=1, per_page=25),
    }
    groups, scope, group_count = reason_counts(detail, scan, chunk_id, analysis)
    context |= {
        "filter_groups": groups,
        "groups_scope": scope,
        "group_count": group_count,
        "summary_groups": groups[:SUMMARY_GROUPS],
        "scan_group_keys": {g.key for g in groups},
    }
    if chunk_id and scan.result:
        context["chunk"] = find_chunk(scan.result.chunks, chunk_id)
    if not table:
        return
    if chunk_is_unknown(scan, chunk_id):
        raise no_such_chunk(detail, chunk_id)
    if reason and scan.result:
        summary = next((g for g in scan.result.groups if g.key == reason), None)
        context["group_template"] = summary.template if summary else None

    if needs_scan and analysis is None:
        # Every failure of the job is needed: show the scan's progress (or failure) instead
        # of a half answer; the table region polls until the scan is done.
        context |= {"waiting": True, "waiting_for": _waiting_for(form)}
    elif needs_scan:
        assert analysis is not None
        if reason and analysis.template(reason) is None:
            raise no_such_group(detail, reason)
        if reason:
            context["group_template"] = analysis.template(reason)
        lead = 0
        if query["q"]:
            ranked = analysis.ranked(chunk_id=chunk_id, group_key=reason, query=query["q"])
            positions, lead = ranked.positions, ranked.exact
            context |= {"match_note": match_note(ranked), "needle": clean_query(query["q"])}
        else:
            positions = analysis.select(chunk_id=chunk_id, group_key=reason)
        context["nothing_to_search"] = not len(analysis)
        page_number = query["page"]
        if row is not None:
            at, found = positions.locate(row)
            page_number = min(at, max(0, len(positions) - 1)) // query["per_page"] + 1
            context |= {"target_row": row, "row_found": found}
        paging = Paging(page_number, query["per_page"], len(positions))
        if not paging.exists:
            raise _no_such_page(paging, form)
        if from_scan:
            failures: list[Failure] | None = positions.page(paging.offset, paging.per_page)
        else:
            # A row link without a reason or search: the page comes from Meteroid as usual.
            failures = _meteroid_page(context, detail, paging.offset, paging.per_page, chunk_id)
        if failures is not None:
            _table(context, form, paging, failures, exact=max(0, lead - paging.offset))
    else:
        failures = _meteroid_page(
            context, detail, (query["page"] - 1) * query["per_page"], query["per_page"], chunk_id
        )
        if failures is not None:
            total = context.pop("meteroid_total")
            if chunk_id and total == 0:
                raise no_such_chunk(detail, chunk_id)
            paging = Paging(query["page"], query["per_page"], total)
            if not paging.exists:
                raise _no_such_page(paging, form)
            _table(context, form, paging, failures)


def live_parts(request: HttpRequest, detail: JobDetail, context: dict) -> HttpResponse:
    """The answer to the poll of an active job's page (see `dashboard.pages.live`): the summary,
    and out of band the reason groups and filter lists when they changed, and the reader's
    table (the view in their address bar) or how many new failures it does not show."""
    current_url = request.htmx.current_url if request.htmx else None
    form = JobPageQuery(QueryDict(live.view_query(current_url, request.path)))
    if not form.is_valid():
        form = JobPageQuery({})
        form.is_valid()
    scan = scan_status(detail)
    if detail.is_terminal:
        scan = settled(detail, scan, LIVE_END_WAIT_SECONDS)
    context["reasons_oob"] = False
    try:
        fill_context(request, detail, form, scan, context)
        exists = True
    except Problem:  # the reader's view has no table (yet): the summary still moves
        exists = False
    lists = render_to_string("jobs/_live_lists.html", context, request)
    lists_digest = live.digest(lists)
    paging: Paging | None = context.get("paging")
    news = live.table_news(
        ended=detail.is_terminal,
        exists=exists,
        follows=live.follows_the_job(form.cleaned_data),
        total=paging.total if paging else None,
        seen=live.seen_count(request.GET.get(live.SEEN_FIELD)),
    )
    changed = detail.is_terminal or lists_digest != request.GET.get(live.LISTS_FIELD)
    context |= {"lists": lists if changed else "", "lists_digest": lists_digest, "news": news}
    return render(request, "jobs/_live.html", context)


def _chunk_of(url: str | None) -> str:
    """The chunk filter of a page's address ("" for none, or no address)."""
    if not url:
        return ""
    return dict(parse_qsl(urlsplit(url).query)).get("chunk", "")


def _page(
    request: HttpRequest, detail: JobDetail, form: JobPageQuery, body: str, title: str, *, fragment: bool
) -> HttpResponse:
    """A job page around its data part (`body`), or, for htmx, the table fragment alone, followed
    by the tab's title (htmx takes it: the filters changed it)."""
    if fragment:
        return HttpResponse(body + title_tag(title))
    context = {
        "job": detail,
        "body": body,
        "page_title": title,
        "current_query": form.query(),
        "current_fields": parse_qsl(form.query()),
    }
    return render(request, "jobs/job.html", context)


def _waiting_for(form: JobPageQuery) -> str:
    query = form.cleaned_data
    if query["q"]:
        return "search them"
    if is_whole_chunk(query["chunk"]):
        return "show the rows of this chunk, which failed as a whole"
    if query["reason"]:
        return "show the failures of this reason group"
    return f"find row {query['row']:,}"


def _no_such_page(paging: Paging, form: JobPageQuery) -> Problem:
    return Problem(
        lambda request: no_such_page(request, paging, "these failures", form.query(page=paging.pages))
    )


def _meteroid_page(
    context: dict, detail: JobDetail, offset: int, limit: int, chunk_id: str
) -> list[Failure] | None:
    """One page of failures from Meteroid (through the cache), or None with the error noted."""
    try:
        page = get_gateway().failures(detail, limit=limit, offset=offset, chunk_id=chunk_id or None)
    except MeteroidError as error:
        context["failures_error"] = error
        context["slow_retry_seconds"] = SLOW_RETRY_SECONDS
        return None
    context["meteroid_total"] = page.total_from(offset)
    context["apart"] = page.apart
    context["total_warning"] = page.total_warning
    return list(page.failures)


def _table(
    context: dict, form: JobPageQuery, paging: Paging, failures: list[Failure], *, exact: int = 0
) -> None:
    """The table's rows and pager; the first `exact` rows are a search's exact matches."""
    context.pop("meteroid_total", None)
    detail: JobDetail = context["job"]
    result = context["scan"].result
    context |= {
        "rows": failure_rows(
            failures,
            row_query=form.query(page=1, row=None),
            per_page=paging.per_page,
            reason=form.cleaned_data["reason"],
            target_row=context.get("target_row"),
            exact=exact,
            chunk_size=detail.chunk_size,
            total_items=detail.total_items,
            group_counts={g.key: g.count for g in result.groups} if result else None,
            in_chunk=bool(form.cleaned_data["chunk"]),
        ),
        "paging": paging,
        "page_links": [(n, form.query(page=n) if n else "") for n in paging.window()],
        "previous_query": form.query(page=paging.page - 1),
        "next_query": form.query(page=paging.page + 1),
    }


@require_GET
@vary_on_headers("HX-Request")
def job_chunks(request: HttpRequest, job_id: str) -> HttpResponse:
    """The chunk and reason filters alone: polled while the job's failures are being read."""
    detail = load_job(job_id)
    form = JobPageQuery(request.GET)
    if not form.is_valid():
        raise bad_form(form)
    return _scan_filters(request, detail, form)


# Where a "try again" of a failed scan returns to, by the view it was asked from.
RESCAN_RETURNS = {"job": "job", "reasons": "job-reasons", "chunks": "job"}


@require_POST
def job_rescan(request: HttpRequest, job_id: str) -> HttpResponse:
    """Try again a scan that failed, then show again the view it was asked from.

    The filters' own button (htmx) gets the filters back; every other one is redirected to
    its page, and htmx follows the redirect (as a GET) with its headers, so a region that
    asked gets its fragment of that page.
    """
    detail = load_job(job_id)
    retry_scan(detail)
    back = request.POST.get("then", "chunks")
    if back not in RESCAN_RETURNS:
        back = "chunks"
    form: JobPageQuery | ReasonsQuery = (
        ReasonsQuery(request.POST) if back == "reasons" else JobPageQuery(request.POST)
    )
    valid = form.is_valid()
    if back == "chunks" and request.htmx:
        if not valid or not isinstance(form, JobPageQuery):
            form = JobPageQuery()
            form.is_valid()
        return _scan_filters(request, detail, form)
    url = reverse(RESCAN_RETURNS[back], args=[detail.id])
    query = form.query() if valid else ""
    return redirect(f"{url}?{query}" if query else url)


def _scan_filters(request: HttpRequest, detail: JobDetail, form: JobPageQuery) -> HttpResponse:
    scan = scan_status(detail)
    query = form.cleaned_data
    chunk_id = query["chunk"]
    context = {
        "job": detail,
        "form": form,
        "query": query,
        "scan": scan,
        "chunk": find_chunk(scan.result.chunks, chunk_id) if scan.result and chunk_id else None,
        "per_page_choices": FAILURES_PER_PAGE,
        "current_query": form.query(),
    }
    groups, scope, group_count = reason_counts(detail, scan, chunk_id)
    context |= {
        "filter_groups": groups,
        "groups_scope": scope,
        "group_count": group_count,
        "scan_group_keys": {g.key for g in groups},
    }
    response = render(request, "jobs/job.html#scan-filters", context)
    if scan.state == "done" and request.htmx:
        # The regions waiting on the same scan refresh now rather than at their next poll.
        response["HX-Trigger"] = "scan-finished"
    return response
