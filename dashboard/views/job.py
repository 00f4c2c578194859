"""One batch job: its summary, and its failures page by page, filtered by chunk."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from dashboard.chunks import find_chunk
from dashboard.forms import FAILURES_PER_PAGE, JobPageQuery, is_job_id
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import JobDetail
from dashboard.paging import Paging
from dashboard.scan import retry_scan, scan_status
from dashboard.views.responses import bad_query, not_found, upstream_problem

# Fragments of the job page that htmx asks for by the id of the element they replace.
SUMMARY = "job-summary"
FAILURES = "failures"


def _load_job(request: HttpRequest, job_id: str) -> JobDetail | HttpResponse:
    if not is_job_id(job_id):
        return not_found(
            request, "That is not a batch job id.", ["Batch job ids look like bjob_7n42DGM5Tflk9n8mt7Fhc7."]
        )
    try:
        return get_gateway().job(job_id)
    except MeteroidError as error:
        return upstream_problem(request, error)


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def job(request: HttpRequest, job_id: str) -> HttpResponse:
    detail = _load_job(request, job_id)
    if isinstance(detail, HttpResponse):
        return detail
    target = request.htmx.target if request.htmx else None
    context = {"job": detail, "now": timezone.now()}
    if target == SUMMARY:
        response = render(request, "jobs/job.html#summary", context)
        if detail.is_terminal:
            # The poll that brought this came from an active job: it has just ended.
            response["HX-Trigger"] = "job-finished"
        return response

    form = JobPageQuery(request.GET)
    if not form.is_valid():
        return bad_query(request, form.problems())
    query = form.cleaned_data
    scan = scan_status(detail)
    context |= {"form": form, "query": query, "scan": scan, "per_page_choices": FAILURES_PER_PAGE}
    chunk_id = query["chunk"]
    # A complete chunk list settles whether the chunk exists without asking Meteroid.
    complete = scan.result and not scan.result.provisional and not scan.result.capped
    if chunk_id and complete and not scan.result.has_chunk(chunk_id):
        return _no_such_chunk(request, detail, chunk_id)
    if chunk_id and scan.result:
        context["chunk"] = find_chunk(scan.result.chunks, chunk_id)

    try:
        page = get_gateway().failures(
            detail,
            limit=query["per_page"],
            offset=(query["page"] - 1) * query["per_page"],
            chunk_id=chunk_id or None,
        )
    except MeteroidError as error:
        context["failures_error"] = error
        page = None
    if page is not None:
        if chunk_id and page.total_count == 0:
            return _no_such_chunk(request, detail, chunk_id)
        paging = Paging(query["page"], query["per_page"], page.total_count)
        if not paging.exists:
            return not_found(
                request,
                f"There is no page {query['page']:,} of these failures.",
                [
                    f"They fill {paging.pages:,} page{'s' if paging.pages != 1 else ''} of {query['per_page']}."
                ],
            )
        context |= {
            "failures": page.failures,
            "paging": paging,
            "page_links": [(n, form.query(page=n) if n else "") for n in paging.window()],
            "previous_query": form.query(page=paging.page - 1),
            "next_query": form.query(page=paging.page + 1),
        }
    context["current_query"] = form.query()

    template = "jobs/job.html"
    if target == FAILURES:
        template += "#failures"
    error = context.get("failures_error")
    response = render(request, template, context, status=error.http_status if error else 200)
    if error and error.retry_after_seconds:
        response["Retry-After"] = str(error.retry_after_seconds)
    return response


def _no_such_chunk(request: HttpRequest, job: JobDetail, chunk_id: str) -> HttpResponse:
    return not_found(
        request,
        "This job has no failures in that chunk.",
        [f"Chunk {chunk_id} is not among the chunks of {job.id} that have failures."],
    )


@require_GET
@vary_on_headers("HX-Request")
def job_chunks(request: HttpRequest, job_id: str) -> HttpResponse:
    """The chunk filter alone: polled while the job's chunks are being listed."""
    detail = _load_job(request, job_id)
    if isinstance(detail, HttpResponse):
        return detail
    form = JobPageQuery(request.GET)
    if not form.is_valid():
        return bad_query(request, form.problems())
    return _chunk_filter(request, detail, form)


@require_POST
def job_rescan(request: HttpRequest, job_id: str) -> HttpResponse:
    """Try again a chunk listing that failed."""
    detail = _load_job(request, job_id)
    if isinstance(detail, HttpResponse):
        return detail
    retry_scan(detail)
    form = JobPageQuery(request.POST)
    if not form.is_valid():
        form = JobPageQuery()
        form.is_valid()
    if request.htmx:
        return _chunk_filter(request, detail, form)
    url = reverse("job", args=[detail.id])
    query = form.query()
    return redirect(f"{url}?{query}" if query else url)


def _chunk_filter(request: HttpRequest, detail: JobDetail, form: JobPageQuery) -> HttpResponse:
    scan = scan_status(detail)
    chunk_id = form.cleaned_data["chunk"]
    context = {
        "job": detail,
        "form": form,
        "query": form.cleaned_data,
        "scan": scan,
        "chunk": find_chunk(scan.result.chunks, chunk_id) if scan.result and chunk_id else None,
        "per_page_choices": FAILURES_PER_PAGE,
        "current_query": form.query(),
    }
    return render(request, "jobs/job.html#chunk-filter", context)
