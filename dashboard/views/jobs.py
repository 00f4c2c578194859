"""The list of batch jobs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import JOB_TYPES, STATUSES
from dashboard.pages.forms import JobListQuery, OpenJobQuery
from dashboard.pages.paging import Paging
from dashboard.pages.pasted_links import view_query
from dashboard.pages.titles import jobs_title, title_tag
from dashboard.views.responses import bad_query, no_such_page, problem, upstream_problem


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def jobs(request: HttpRequest) -> HttpResponse:
    form = JobListQuery(request.GET)
    if not form.is_valid():
        return bad_query(request, form.problems(), bad=form.bad_fields())
    query = form.cleaned_data
    gateway = get_gateway()
    try:
        listing = gateway.jobs(
            job_type=query["type"] or None,
            statuses=query["status"],
            page=query["page"] - 1,
            per_page=query["per_page"],
        )
    except MeteroidError as error:
        return upstream_problem(request, error)
    paging = Paging(query["page"], query["per_page"], listing.pagination.total_items)
    if not paging.exists:
        return no_such_page(request, paging, "this list", form.query(page=paging.pages))
    context = {
        "form": form,
        "query": query,
        "jobs": listing.jobs,
        "left_out": listing.left_out,
        "left_out_summary": listing.left_out_summary,
        "paging": paging,
        "page_links": [(n, form.query(page=n) if n else "") for n in paging.window()],
        "previous_query": form.query(page=paging.page - 1),
        "next_query": form.query(page=paging.page + 1),
        "current_query": form.query(),
        "job_types": JOB_TYPES,
        "statuses": STATUSES,
        "any_active": any(job.is_active for job in listing.jobs),
        # Running jobs seen ended before: retried (a cache read per running job, few).
        "retried": {job.id for job in listing.jobs if job.is_active and gateway.reopened(job)},
        "now": timezone.now(),
        "filtered": bool(query["type"] or query["status"]),
        "page_title": jobs_title(query),
    }
    if request.htmx and request.htmx.target == "jobs-table":
        # The table alone, then the tab's title, which htmx takes: the filters changed it.
        response = render(request, "jobs/list.html#jobs-table", context)
        response.content += title_tag(context["page_title"]).encode()
        return response
    return render(request, "jobs/list.html", context)


@require_GET
def open_job(request: HttpRequest) -> HttpResponse:
    """The page of the job that a pasted id or link names (the box above the list); with
    nothing pasted, the list itself."""
    if not request.GET.get("job", "").strip():
        return redirect("jobs")
    form = OpenJobQuery(request.GET)
    if not form.is_valid():
        return problem(request, status=400, title="There is no job to open.", details=form.problems())
    job_id = form.cleaned_data["job"]
    # A pasted link to a filtered view lands on that view: its filters, checked, come along.
    query = view_query(request.GET.get("job", ""), job_id)
    url = reverse("job", args=[job_id])
    return redirect(f"{url}?{query}" if query else url)
