"""Refresh on demand: ask Meteroid again for what a job or list page shows, past the cache.

Each control is a plain POST to the page's own address under `refresh/`, carrying the page's
query; it asks Meteroid (within the per-person limits of `dashboard.pages.refresh`), then sends the
browser back to the page, which now reads the fresh copy. A job's refresh also starts its
whole-job scan again, so that the chunk list follows.
"""

from __future__ import annotations

from contextlib import suppress

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.index.status import refresh_scan
from dashboard.meteroid import freshness
from dashboard.meteroid.errors import MeteroidError
from dashboard.meteroid.freshness import describe_age
from dashboard.meteroid.gateway import get_gateway
from dashboard.pages import refresh
from dashboard.pages.forms import JobListQuery, JobPageQuery, is_job_id
from dashboard.views.responses import bad_query, not_found


@require_POST
def jobs_refresh(request: HttpRequest) -> HttpResponse:
    form = JobListQuery(request.GET)
    if not form.is_valid():
        return bad_query(request, form.problems())
    page = _address(reverse("jobs"), form.query())
    if _claim(request, page):
        query = form.cleaned_data
        with suppress(MeteroidError):  # the page itself shows the error
            get_gateway().jobs(
                job_type=query["type"] or None,
                statuses=query["status"],
                page=query["page"] - 1,
                per_page=query["per_page"],
                refresh=True,
            )
        _tell_outcome(request)
    return _back_to(page)


@require_POST
def job_refresh(request: HttpRequest, job_id: str) -> HttpResponse:
    if not is_job_id(job_id):
        return not_found(request, "That is not a batch job id.")
    form = JobPageQuery(request.GET)
    if not form.is_valid():
        return bad_query(request, form.problems())
    page = _address(reverse("job", args=[job_id]), form.query())
    if _claim(request, page):
        query = form.cleaned_data
        gateway = get_gateway()
        try:
            detail = gateway.job(job_id, refresh=True)
            gateway.failures(
                detail,
                limit=query["per_page"],
                offset=(query["page"] - 1) * query["per_page"],
                chunk_id=query["chunk"] or None,
                refresh=True,
            )
        except MeteroidError:
            pass  # the page itself shows the error
        else:
            refresh_scan(detail, gateway=gateway)
        _tell_outcome(request)
    return _back_to(page)


def _address(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _back_to(page: str) -> HttpResponse:
    # 303: the browser follows with a GET, and a reload does not post again.
    return HttpResponseRedirect(page, status=303)


def _claim(request: HttpRequest, page: str) -> bool:
    decision = refresh.claim(str(request.user.pk), page)
    if decision.allowed:
        return True
    if decision.reason == "page":
        messages.info(
            request,
            f"This page was refreshed from Meteroid a moment ago; it can be refreshed again in {decision.wait} s.",
        )
    else:
        messages.info(
            request,
            f"You have refreshed many pages this minute; refresh again in {decision.wait} s.",
        )
    return False


def _tell_outcome(request: HttpRequest) -> None:
    report = freshness.current()
    oldest = report.oldest if report else None
    if oldest is not None:
        messages.warning(
            request,
            f"Meteroid did not answer ({oldest.reason}), so the page still shows the copy from "
            f"{describe_age(oldest.age)} ago.",
        )
    else:
        messages.success(request, "Refreshed from Meteroid.")
