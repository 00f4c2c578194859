"""How views answer when they cannot show what was asked: bad input, not found, Meteroid down.

An htmx request gets the message as a fragment for the element it targeted (htmx is
configured in base.html to swap error responses too); a plain request gets a whole page.
A download that fails once its first bytes are sent can no longer get a page: it is aborted
(`streamed_download`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from dashboard.meteroid.errors import ErrorKind, MeteroidError
from dashboard.pages.paging import Paging

logger = logging.getLogger("dashboard.downloads")

# A page that Meteroid was too slow for (nothing to show at all) asks again this long after.
SLOW_AGAIN_SECONDS = 5


def problem(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    details: list[str] | None = None,
    retry: bool = False,
    retry_after: int | None = None,
    again_in: int | None = None,
    links: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    """The page (or htmx fragment) of a problem. `again_in`: a whole page asks again by
    itself after that many seconds (Meteroid was only slow). `links`: (words, address) of
    the nearest pages that exist, offered first."""
    # A fragment only for htmx swaps of part of a page; boosted links replace the whole body.
    fragment = bool(request.htmx and request.htmx.target)
    context = {
        "status": status,
        "title": title,
        "details": details or [],
        "retry": retry,
        "retry_after": retry_after,
        # A fragment's region has its own way of asking again, or none.
        "again_in": None if fragment else again_in,
        "back_url": request.get_full_path(),
        "links": links or [],
    }
    template = "_problem.html" if fragment else "problem.html"
    response = render(request, template, context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def bad_query(request: HttpRequest, details: list[str], *, bad: Iterable[str] = ()) -> HttpResponse:
    """A 400 page that says in sentences what is wrong with the address, and, when `bad`
    names the parameters at fault, links to the same page without them."""
    links = []
    if bad:
        kept = request.GET.copy()
        for name in bad:
            kept.pop(name, None)
        query = kept.urlencode()
        links.append(
            (
                "Show this page without them" if len(list(bad)) > 1 else "Show this page without it",
                f"{request.path}?{query}" if query else request.path,
            )
        )
    return problem(
        request,
        status=400,
        title="This address asks for something the dashboard cannot show.",
        details=details,
        links=links,
    )


def not_found(
    request: HttpRequest,
    title: str,
    details: list[str] | None = None,
    links: list[tuple[str, str]] | None = None,
) -> HttpResponse:
    return problem(request, status=404, title=title, details=details, links=links)


def no_such_page(request: HttpRequest, paging: Paging, what: str, last_query: str) -> HttpResponse:
    """A page past the end: which is the last, and a link to it (this path with `last_query`,
    the view's query for its last page)."""
    last = paging.pages
    return not_found(
        request,
        f"There is no page {paging.page:,} of {what}: the last is {last:,}.",
        links=[(f"Go to page {last:,}", f"{request.path}?{last_query}" if last_query else request.path)],
    )


def upstream_problem(request: HttpRequest, error: MeteroidError) -> HttpResponse:
    if error.kind is ErrorKind.NOT_FOUND:
        return not_found(
            request,
            "No such batch job.",
            [
                "Meteroid has no job with this id that this dashboard can see. The id may be "
                "mistyped or cut short, or the job may belong to another Meteroid organisation "
                "than the one this dashboard is connected to."
            ],
        )
    return problem(
        request,
        status=error.http_status,
        title=error.message,
        retry=error.retryable,
        retry_after=error.retry_after_seconds,
        again_in=SLOW_AGAIN_SECONDS if error.slow else None,
    )


def streamed_download(
    chunks: Iterable[bytes],
    *,
    what: str,
    filename: str,
    content_type: str = "text/csv; charset=utf-8",
    close: Callable[[], None] | None = None,
) -> StreamingHttpResponse:
    """A file streamed as it is made. `what` names it in the log ("failures CSV of bjob_…").

    The caller makes the first chunk before calling this, so that a problem found then gets a
    page with an honest status. A problem found later cannot change the status: it is logged
    and raised on to the server, which then ends the response short of its final chunk
    (gunicorn closes the connection), so that browsers and curl report a failed download
    instead of saving a file cut short as if it were whole. `close` runs however it ends.
    """
    response = StreamingHttpResponse(_aborting(chunks, what, close), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "private, no-store"
    return response


def _aborting(chunks: Iterable[bytes], what: str, close: Callable[[], None] | None) -> Iterator[bytes]:
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            yield chunk
    except MeteroidError as error:
        logger.warning("Download of the %s aborted after %d bytes: %s", what, sent, error.message)
        raise
    except Exception as exc:
        logger.exception("Download of the %s aborted after %d bytes: %s", what, sent, exc)
        raise
    finally:
        if close is not None:
            close()
