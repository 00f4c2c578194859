"""Causes across jobs: the reason patterns of a window's failed rows (a page and a CSV), and
one pattern's jobs (a page, or the fragment a row of the causes page expands into)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.failures.exports import Cell, csv_chunks
from dashboard.index.sources import scope_of
from dashboard.meteroid.gateway import get_gateway
from dashboard.pages import causes as pages
from dashboard.pages.causes import NEW, STOPPED, CausesQuery
from dashboard.views.loading import bad_form
from dashboard.views.problems import Problem
from dashboard.views.responses import no_such_page, not_found, streamed_download

JOBS_TARGET = "jobs-"  # the htmx targets of a cause's jobs in a causes page row


def _query(request: HttpRequest) -> CausesQuery:
    form = CausesQuery(request.GET)
    if not form.is_valid():
        raise bad_form(form)
    return form


@require_GET
def causes(request: HttpRequest) -> HttpResponse:
    """The causes of the window's failed rows, largest first, a page at a time."""
    form = _query(request)
    if (canonical := form.canonical_query()) is not None:
        return redirect(f"{request.path}?{canonical}" if canonical else request.path)
    gateway = get_gateway()
    scope = scope_of(gateway)
    page = pages.causes_page(scope, form.cleaned_data)
    paging = page.paging
    if not paging.exists:
        return no_such_page(request, paging, "these causes", form.query(page=paging.pages))
    filters = form.filters()
    return render(
        request,
        "causes.html",
        {
            "form": form,
            "query": form.cleaned_data,
            "type_label": pages.type_label(form.cleaned_data["type"]),
            "page": page,
            "coverage": pages.coverage_of(gateway, scope, form.cleaned_data),
            "current_query": form.query(),
            "filters": filters,
            "csv_query": filters,
            "show_links": [
                (words, form.query(show=value, page=None))
                for value, words in pages.SHOWS.items()
                if value != form.cleaned_data["show"]
            ],
            "rank_offset": paging.offset,
            "paging": paging,
            "page_links": [(n, form.query(page=n) if n else "") for n in paging.window()],
            "previous_query": form.query(page=paging.page - 1),
            "next_query": form.query(page=paging.page + 1),
        },
    )


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def cause(request: HttpRequest, key: str) -> HttpResponse:
    """The jobs of one cause in the window, newest first: a page, or a causes page row's fragment."""
    form = _query(request)
    found = pages.cause_jobs(scope_of(get_gateway()), form.cleaned_data, key)
    if found is None:
        raise Problem(
            lambda request: not_found(
                request,
                "No failed row of this cause in the window.",
                ["The pattern may be mistyped, or its failures belong to jobs of another window or type."],
                links=[("Show every cause of the window", _causes_url(form))],
            )
        )
    fragment = bool(request.htmx and (request.htmx.target or "").startswith(JOBS_TARGET))
    context = {"form": form, "query": form.cleaned_data, "cause": found, "causes_url": _causes_url(form)}
    return render(request, "causes_jobs.html#jobs" if fragment else "causes_jobs.html", context)


def _causes_url(form: CausesQuery) -> str:
    filters = form.query(page=None, show="")
    return reverse("reasons-across") + (f"?{filters}" if filters else "")


CAUSES_HEADER = (
    "pattern",
    "failed_rows",
    "jobs",
    "first_seen",
    "last_seen",
    "state",
    "reason_group",
    "jobs_link",
)


@require_GET
def causes_csv(request: HttpRequest) -> HttpResponse:
    """Every cause of the window under the filters, one line each, largest first."""
    form = _query(request)
    query = form.cleaned_data
    window = pages.window_of(query)
    found = pages.all_causes(scope_of(get_gateway()), query, window)
    link_base = request.build_absolute_uri(reverse("reasons-across"))
    filters = form.query(page=None, show="")

    def rows() -> Iterator[list[Cell]]:
        for count, state, template in found:
            yield [
                template.text,
                count.failed,
                count.jobs,
                timezone.localdate(count.first_seen).isoformat(),
                timezone.localdate(count.last_seen).isoformat(),
                _state_words(state, timezone.localdate(count.last_seen).isoformat()),
                count.key,
                f"{link_base}{count.key}/" + (f"?{filters}" if filters else ""),
            ]

    name = "causes-" + "-".join(
        part for part in (f"{window.days}-days", query["type"].lower(), query["show"]) if part
    )
    chunks = csv_chunks(CAUSES_HEADER, rows())
    first = next(chunks)
    return streamed_download(chain([first], chunks), what="causes CSV", filename=f"{name}.csv")


def _state_words(state: str, last_seen: str) -> str:
    if state == NEW:
        return "new"
    if state == STOPPED:
        return f"not seen since {last_seen}"
    return ""
