"""Middleware of the dashboard's own."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django_htmx.http import HttpResponseClientRedirect

from dashboard.meteroid import deadline, freshness


class LoginRequired(LoginRequiredMiddleware):
    """Every page needs a login. An htmx request whose session has ended sends the whole
    browser to the login page (not the login form into a table cell), and comes back to the
    page the person was on, which htmx names in HX-Current-URL."""

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        if getattr(request, "htmx", False):
            current = urlsplit(request.htmx.current_url or "")
            back = current.path + (f"?{current.query}" if current.query else "") if current.path else "/"
            login = redirect_to_login(
                back, self.get_login_url(view_func), self.get_redirect_field_name(view_func)
            )
            return HttpResponseClientRedirect(login["Location"])
        return super().handle_no_permission(request, view_func)


class MeteroidDeadline:
    """One deadline for all the calls to Meteroid that one request makes, retries included
    (`dashboard.meteroid.deadline`): a page never keeps a person, or a server thread, waiting
    on a slow Meteroid for longer than METEROID_REQUEST_DEADLINE_SECONDS. Downloads lift it
    (`deadline.lifted()` around their view); a streamed body is read after this returns,
    outside it."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with deadline.within(settings.METEROID_REQUEST_DEADLINE_SECONDS):
            return self.get_response(request)


class StaleNotice:
    """Collects, per request, the old copies of Meteroid's data that were served because
    Meteroid failed (`dashboard.meteroid.freshness`); pages show them as a banner.

    A whole page renders the banner itself (base.html). An htmx fragment replaces only part
    of a page, so its answer also carries the banner out of band: shown when the fragment
    came from an old copy, hidden when it came fresh from Meteroid.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with freshness.collecting() as report:
            response = self.get_response(request)
            if report.answers and getattr(request, "htmx", False) and _is_html_fragment(response):
                banner = render_to_string("_stale.html", {"stale": report, "oob": True}, request=request)
                response.content += banner.encode(response.charset)
        return response


def _is_html_fragment(response: HttpResponse) -> bool:
    return (
        not response.streaming
        and response.status_code == 200
        and response.get("Content-Type", "").startswith("text/html")
        and "HX-Redirect" not in response
    )
