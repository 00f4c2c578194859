"""How views answer when they cannot show what was asked: bad input, not found, Meteroid down.

An htmx request gets the message as a fragment for the element it targeted (htmx is
configured in base.html to swap error responses too); a plain request gets a whole page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.meteroid.errors import ErrorKind, MeteroidError


def problem(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    details: list[str] | None = None,
    retry: bool = False,
    retry_after: int | None = None,
) -> HttpResponse:
    context = {
        "status": status,
        "title": title,
        "details": details or [],
        "retry": retry,
        "retry_after": retry_after,
        "back_url": request.get_full_path(),
    }
    # A fragment only for htmx swaps of part of a page; boosted links replace the whole body.
    template = "_problem.html" if request.htmx and request.htmx.target else "problem.html"
    response = render(request, template, context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def bad_query(request: HttpRequest, details: list[str]) -> HttpResponse:
    return problem(
        request,
        status=400,
        title="This address asks for something the dashboard cannot show.",
        details=details,
    )


def not_found(request: HttpRequest, title: str, details: list[str] | None = None) -> HttpResponse:
    return problem(request, status=404, title=title, details=details)


def upstream_problem(request: HttpRequest, error: MeteroidError) -> HttpResponse:
    if error.kind is ErrorKind.NOT_FOUND:
        return not_found(
            request,
            "No such batch job.",
            ["Meteroid does not know this job, or it belongs to another tenant than the dashboard's key."],
        )
    return problem(
        request,
        status=error.http_status,
        title=error.message,
        retry=error.retryable,
        retry_after=error.retry_after_seconds,
    )
