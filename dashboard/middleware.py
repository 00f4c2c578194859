"""Middleware of the dashboard's own."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect


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
