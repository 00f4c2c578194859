"""The search across jobs (`/search/?q=…`): the box in the top bar of every page asks it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from dashboard.failures.search import MAX_QUERY_CHARS, clean_query
from dashboard.index.sources import scope_of
from dashboard.meteroid.gateway import get_gateway
from dashboard.meteroid.records import JOB_TYPES
from dashboard.pages import search_across
from dashboard.pages.forms import CHUNK_ID_RE, SEARCH_WINDOWS, SearchQuery
from dashboard.pages.titles import search_title, title_tag
from dashboard.views.loading import bad_form
from dashboard.views.responses import no_such_page

RESULTS = "search-results"  # the region a search swaps
COVERAGE = "search-coverage"  # the region that asks again while jobs are being read


@require_GET
@vary_on_headers("HX-Request", "HX-Target")
def search(request: HttpRequest) -> HttpResponse:
    form = SearchQuery(request.GET)
    if not form.is_valid():
        raise bad_form(form)
    query = form.cleaned_data
    gateway = get_gateway()
    scope = scope_of(gateway)
    needle = clean_query(query["q"])
    if needle and (place := search_across.job_or_chunk(query["q"], scope)):
        return redirect(place)
    indexes = search_across.window_indexes(scope, days=query["days"], job_type=query["type"])
    context = {
        "form": form,
        "query": query,
        "needle": needle,
        "windows": SEARCH_WINDOWS,
        "job_types": JOB_TYPES,
        "max_chars": MAX_QUERY_CHARS,
        "page_title": search_title(query),
        "coverage": search_across.coverage(
            gateway, scope, indexes, days=query["days"], job_type=query["type"]
        ),
        "current_query": form.query(),
        "looks_like_chunk": bool(CHUNK_ID_RE.match(query["q"].strip())),
    }
    target = request.htmx.target if request.htmx else None
    if target == COVERAGE:
        return render(request, "search.html#coverage", context)
    if needle:
        found = search_across.results(indexes, query["q"], needle, query["page"])
        if not found.paging.exists:
            return no_such_page(request, found.paging, "these results", form.query(page=found.paging.pages))
        context |= {
            "results": found,
            "imports": search_across.import_answers(indexes, needle) if found.paging.page == 1 else None,
            "paging": found.paging,
            "page_links": [(n, form.query(page=n) if n else "") for n in found.paging.window()],
            "previous_query": form.query(page=found.paging.page - 1),
            "next_query": form.query(page=found.paging.page + 1),
        }
    if target == RESULTS:
        response = render(request, "search.html#results", context)
        response.content += title_tag(context["page_title"]).encode()
        return response
    return render(request, "search.html", context)
